using Moe.Supervision;

namespace Moe.Platform.Worker.Jobs;

/// <summary>How one trainer process ended.</summary>
/// <param name="Kind">The classification the control plane acts on.</param>
/// <param name="ExitCode">The process's exit code; 128 + n when a signal n ended it.</param>
/// <param name="Signal">The signal that ended it, for <see cref="JobOutcomeKind.Killed"/>.</param>
/// <param name="LastStep">The last step the process reported (a step record), or null.</param>
/// <param name="LastCheckpointStep">The step of the last checkpoint it reported, or null.</param>
/// <param name="StderrTail">The last lines of its stderr (errors name the problem there).</param>
public sealed record JobOutcome(JobOutcomeKind Kind, int ExitCode, int? Signal, long? LastStep, long? LastCheckpointStep,
    IReadOnlyList<string> StderrTail)
{
    /// <summary>The trainer's exit code after SIGTERM or Ctrl-C: stopped after a checkpoint.</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>
    /// Classifies an exit code. 130 is the trainer's own "checkpointed and stopped" (also 128 + SIGINT, which it
    /// handles); other codes above 128 are deaths by signal, which the trainer never returns itself.
    /// </summary>
    public static (JobOutcomeKind Kind, int? Signal) Classify(int exitCode, bool stopRequested) => exitCode switch
    {
        0 => (JobOutcomeKind.Completed, null),
        InterruptedExitCode => (stopRequested ? JobOutcomeKind.Cancelled : JobOutcomeKind.Interrupted, null),
        > PosixSignals.SignalExitBase and < PosixSignals.SignalExitBase + 65 =>
            (JobOutcomeKind.Killed, exitCode - PosixSignals.SignalExitBase),
        _ => (JobOutcomeKind.Failed, null),
    };

    /// <summary>The stderr lines that start with "error:", the trainer's one-line failure messages.</summary>
    public IEnumerable<string> ErrorLines => StderrTail.Where(l => l.StartsWith("error:", StringComparison.Ordinal));

    public override string ToString() => Kind switch
    {
        JobOutcomeKind.Killed => $"killed by {PosixSignals.Name(Signal ?? 0)} (exit {ExitCode}) after step {LastStep?.ToString() ?? "none"}",
        JobOutcomeKind.Failed => $"failed with exit code {ExitCode}: {string.Join(" | ", ErrorLines.DefaultIfEmpty(StderrTail.LastOrDefault() ?? ""))}",
        _ => $"{Kind.ToString().ToLowerInvariant()} at step {LastStep?.ToString() ?? "none"} (exit {ExitCode})",
    };
}
