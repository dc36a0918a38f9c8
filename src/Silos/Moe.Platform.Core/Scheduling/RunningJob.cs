using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// A run holding resources on a worker (scheduled or running, until it has stopped): the GPUs by index and the
/// number of CPU slots. The scheduler treats these as allocated and may preempt lower-priority ones.
/// <paramref name="Stopping"/> marks a run already asked to stop (preempted or cancelled): it is not preempted
/// again, and its resources count as about to be free, so a later plan does not pick fresh victims for the same need.
/// <paramref name="ProcessStarted"/> marks a run whose worker reported its process started: from then on the worker
/// must list it among the runs it runs, or the process is lost.
/// </summary>
public sealed record RunningJob(
    string RunId, string ExperimentId, int Priority, string WorkerId, ImmutableArray<int> GpuIndexes, int CpuSlots,
    DateTimeOffset StartedAt, bool Stopping = false, bool ProcessStarted = false)
{
    public ImmutableArray<int> GpuIndexesOrEmpty => GpuIndexes.IsDefault ? [] : GpuIndexes;
}
