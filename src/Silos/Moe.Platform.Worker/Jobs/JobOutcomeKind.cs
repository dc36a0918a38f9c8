namespace Moe.Platform.Worker.Jobs;

/// <summary>How a training process ended, as the control plane acts on it.</summary>
public enum JobOutcomeKind
{
    /// <summary>Exit 0: the schedule is done (or <c>--stop-after</c> was reached).</summary>
    Completed,

    /// <summary>Exit 130 after we asked it to stop: it wrote a checkpoint; the same command resumes it.</summary>
    Cancelled,

    /// <summary>
    /// Exit 130 without our asking (someone else's SIGTERM or Ctrl-C): it checkpointed like a cancel, but nobody here
    /// wanted it to stop, so the run should be resumed rather than marked cancelled.
    /// </summary>
    Interrupted,

    /// <summary>Ended by a signal (SIGKILL from the OOM killer, kill -9, our own escalation after the grace period):
    /// no checkpoint of the current step; resuming restarts after the newest checkpoint.</summary>
    Killed,

    /// <summary>Any other exit code: 1 failure (bad data, diverged), 2 bad configuration, 3 no torch backend.</summary>
    Failed,
}
