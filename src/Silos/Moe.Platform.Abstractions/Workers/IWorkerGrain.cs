using Moe.Platform.Scheduling;
using Orleans;

namespace Moe.Platform.Workers;

/// <summary>
/// The worker of one worker silo, keyed by the worker id: what it has and what it runs. Its activation lives on that
/// silo, beside the worker agent that heartbeats to the scheduler and supervises the trainer processes; on any other
/// silo (the worker's silo is gone) calls throw <see cref="WorkerErrors.Unavailable"/>.
/// </summary>
public interface IWorkerGrain : IGrainWithStringKey
{
    Task<WorkerSnapshot> GetAsync();
}

/// <summary>What a worker has (devices as TorchSharp sees them) and the runs it supervises now.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerSnapshot(string WorkerId, string SiloAddress, WorkerCapacity Capacity, IReadOnlyList<string> RunningRunIds,
    DateTimeOffset StartedAt);

public static class WorkerErrors
{
    /// <summary>The worker is not on this silo (its silo is gone, or the id is unknown).</summary>
    public static PlatformException Unavailable(string workerId) => new("worker_id", $"worker '{workerId}' is not available");
}
