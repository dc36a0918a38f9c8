using Moe.Platform.Scheduling;

namespace Moe.Platform.Grains.Scheduling;

/// <summary>What the scheduler grain persists, each keyed by its id.</summary>
[GenerateSerializer]
public sealed class SchedulerState
{
    [Id(0)] public Dictionary<string, QueuedJob> Queue { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public Dictionary<string, WorkerCapacity> Workers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Runs holding resources on a worker: scheduled, running, or stopping after preemption.</summary>
    [Id(2)] public Dictionary<string, RunningJob> Running { get; set; } = new(StringComparer.Ordinal);
}
