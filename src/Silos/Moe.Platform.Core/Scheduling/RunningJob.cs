using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// A run holding resources on a worker (scheduled or running, until it has stopped): the GPUs by index and the
/// number of CPU slots. The scheduler treats these as allocated and may preempt lower-priority ones.
/// <paramref name="Stopping"/> marks a run already asked to stop (preempted or cancelled): it is not preempted
/// again, and its resources count as about to be free, so a later plan does not pick fresh victims for the same need.
/// </summary>
public sealed record RunningJob(
    string RunId, string ExperimentId, int Priority, string WorkerId, ImmutableArray<int> GpuIndexes, int CpuSlots,
    DateTimeOffset StartedAt, bool Stopping = false)
{
    public ImmutableArray<int> GpuIndexesOrEmpty => GpuIndexes.IsDefault ? [] : GpuIndexes;
}
