using Moe.Platform.Metrics;
using Orleans;
using Orleans.Concurrency;

namespace Moe.Platform.Runs;

/// <summary>
/// One training run, keyed by its run id. Every status change goes through the run state machine: an illegal one
/// throws <see cref="IllegalTransitionException"/> and changes nothing. Calls on a run that was never created throw
/// a not-found <see cref="PlatformException"/> (field "run_id"). Each change returns the run as it is afterwards.
/// The run keeps the scheduler in step itself: it enqueues whenever it becomes Queued and releases its resources
/// when it ends, so callers (API, scheduler, worker) only talk to the run.
/// </summary>
public interface IRunGrain : IGrainWithStringKey
{
    /// <summary>Creates the run, Queued on attempt 1, and enqueues it. A second create is refused.</summary>
    Task<RunSnapshot> CreateAsync(RunSpec spec);

    /// <summary>The run now. Interleaves (read-only), so a grain the run is waiting on can still ask it.</summary>
    [AlwaysInterleave]
    Task<RunSnapshot> GetAsync();

    /// <summary>The scheduler placed it on <paramref name="workerId"/> (Queued -> Scheduled).</summary>
    Task<RunSnapshot> MarkScheduledAsync(string workerId);

    /// <summary>The worker started the trainer process (Scheduled -> Running).</summary>
    Task<RunSnapshot> MarkRunningAsync();

    /// <summary>The worker's latest step and validation loss, while Running; the best loss is kept.</summary>
    Task<RunSnapshot> ReportProgressAsync(long step, double? valLoss);

    /// <summary>
    /// Stores a batch of the worker's metric points (idempotent by run, name and step: a resumed run re-sends steps
    /// without duplicating them) and moves the last step (<c>loss</c>) and best validation loss (<c>val_loss</c>) on.
    /// Accepted in any status, so a stopping process's last points are kept.
    /// </summary>
    Task<RunSnapshot> AppendMetricsAsync(IReadOnlyList<MetricPoint> points);

    /// <summary>
    /// Stores lines of the trainer's stderr as the run's log (attempt <paramref name="attempt"/>), for the portal's log
    /// tail. Accepted in any status; the newest lines are kept (RunLogStore.MaxLinesPerRun).
    /// </summary>
    Task AppendLogAsync(int attempt, IReadOnlyList<RunLogEntry> lines);

    /// <summary>The process exited 0 after all its steps (Running -> Succeeded).</summary>
    Task<RunSnapshot> MarkSucceededAsync();

    /// <summary>
    /// The process died (its worker saw it end). Running: Retrying and straight back to Queued while a retry is left,
    /// otherwise Failed. Scheduled (never started) and Resuming (already stopping): back to Queued, no retry used.
    /// </summary>
    Task<RunSnapshot> ReportProcessLostAsync(string reason);

    /// <summary>
    /// The worker supervising it is gone (crashed, restarted, or silent past the heartbeat timeout): back to Queued
    /// without using a retry, since the process itself did not fail. Scheduled and Resuming runs go back to Queued too.
    /// </summary>
    Task<RunSnapshot> ReportWorkerLostAsync(string reason);

    /// <summary>A non-retryable error (Running -> Failed).</summary>
    Task<RunSnapshot> MarkFailedAsync(string reason);

    /// <summary>
    /// Queues a Failed or Cancelled run again (a new attempt with a fresh retry allowance); the worker continues from its
    /// newest recorded checkpoint. Refused (409) in any other status or when the experiment is deleted.
    /// </summary>
    Task<RunSnapshot> ResumeAsync(string reason);

    /// <summary>Cancels a run that has not ended.</summary>
    Task<RunSnapshot> RequestCancelAsync(string reason);

    /// <summary>
    /// The scheduler needs its resources: Running -> Resuming (the worker stops it, keeping its checkpoint, then
    /// calls <see cref="MarkStoppedAsync"/>); a Scheduled run that has not started goes straight back to Queued.
    /// </summary>
    Task<RunSnapshot> PreemptAsync(string reason);

    /// <summary>The preempted process has stopped (Resuming -> Queued); it resumes from its checkpoint when placed.</summary>
    Task<RunSnapshot> MarkStoppedAsync();
}
