using System.Collections.Immutable;
using Orleans;

namespace Moe.Platform.Scheduling;

/// <summary>What the scheduler holds, sorted by id: the queue, the workers, and the runs holding resources.</summary>
[GenerateSerializer, Immutable]
public sealed record SchedulerSnapshot(
    ImmutableArray<QueuedJob> Queue, ImmutableArray<WorkerCapacity> Workers, ImmutableArray<RunningJob> Running);
