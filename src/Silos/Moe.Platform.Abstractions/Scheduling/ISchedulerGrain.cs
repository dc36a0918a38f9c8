using System.Collections.Immutable;
using Orleans;
using Orleans.Concurrency;

namespace Moe.Platform.Scheduling;

/// <summary>
/// The cluster's single scheduler (key <see cref="PlatformGrainFactoryExtensions.SchedulerKey"/>): the queue, the workers'
/// capacities and what holds resources on them. <see cref="ScheduleAsync"/> plans with <see cref="Scheduler.Plan"/>
/// and tells the affected run grains.
/// </summary>
/// <remarks>
/// Run grains call <see cref="EnqueueAsync"/>, <see cref="ReportStartedAsync"/> and <see cref="ReportFinishedAsync"/>
/// while the scheduler may itself be waiting on a run (placing, preempting, reporting a lost worker), so these three
/// interleave instead of queueing behind it: they only update the books and cannot deadlock.
/// </remarks>
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    /// <summary>Adds the run to the queue, or replaces its entry; a run back in the queue holds nothing.</summary>
    [AlwaysInterleave]
    Task EnqueueAsync(QueuedJob job);

    /// <summary>Adds a worker, or updates its capacity when it registers again.</summary>
    Task RegisterWorkerAsync(WorkerCapacity capacity);

    /// <summary>
    /// A worker is alive: it is registered (or its capacity refreshed) and told what it should be running. Workers
    /// start the runs placed on them from this answer and stop the ones it no longer lists, so the scheduler never
    /// calls a worker. <paramref name="runningRunIds"/> is what the worker runs now: a started run missing from it lost
    /// its process (a retry is used), unless the capacity names a new incarnation of the worker (restarted: no retry).
    /// A worker silent for longer than <see cref="SchedulerOptions.HeartbeatTimeout"/> is treated as gone.
    /// </summary>
    [AlwaysInterleave]
    Task<WorkerAssignment> HeartbeatAsync(WorkerCapacity capacity, ImmutableArray<string> runningRunIds);

    /// <summary>
    /// The worker is gone: it leaves the pool, and each run on it goes back to the queue without using a retry (its
    /// process did not fail; see <see cref="Runs.IRunGrain.ReportWorkerLostAsync"/>). Unknown workers are ignored.
    /// </summary>
    Task WorkerGoneAsync(string workerId);

    /// <summary>The run's process started: its start time now counts for preemption order (newest stopped first).</summary>
    [AlwaysInterleave]
    Task ReportStartedAsync(string runId);

    /// <summary>The run has ended: it leaves the queue and its resources are free.</summary>
    [AlwaysInterleave]
    Task ReportFinishedAsync(string runId);

    /// <summary>
    /// Plans one pass and applies it: Place -> the run is Scheduled on the worker and holds the resources;
    /// Preempt -> the victim run is preempted; Unschedulable -> the run is ended with the reason. Returns the plan.
    /// </summary>
    Task<SchedulingPlan> ScheduleAsync();

    [ReadOnly]
    Task<SchedulerSnapshot> GetAsync();
}
