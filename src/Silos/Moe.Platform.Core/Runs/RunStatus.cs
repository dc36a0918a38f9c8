namespace Moe.Platform.Runs;

/// <summary>Where a training run is in its life; <see cref="RunStateMachine"/> says which moves are allowed.</summary>
public enum RunStatus
{
    /// <summary>Waiting for the scheduler to place it on a worker.</summary>
    Queued,
    /// <summary>Placed on a worker; the process has not started yet.</summary>
    Scheduled,
    /// <summary>The trainer process is running.</summary>
    Running,
    /// <summary>Exited 0 after all its steps. Terminal.</summary>
    Succeeded,
    /// <summary>A non-retryable error, or every retry used. Terminal.</summary>
    Failed,
    /// <summary>Cancelled on request. Terminal.</summary>
    Cancelled,
    /// <summary>The process died and a retry is left; goes back to the queue (a lost worker requeues without a retry).</summary>
    Retrying,
    /// <summary>Preempted: stopping gracefully, keeping its checkpoint, to resume from it when placed again.</summary>
    Resuming,
}

public static class RunStatusExtensions
{
    /// <summary>Terminal statuses have no way out; the run's record is final.</summary>
    public static bool IsTerminal(this RunStatus status) =>
        status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;
}
