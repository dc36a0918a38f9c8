using System.Collections.Immutable;

namespace Moe.Platform.Runs;

/// <summary>
/// One run's status with its retry accounting and history. Every change goes through
/// <see cref="RunStateMachine"/>, so an illegal move throws <see cref="IllegalTransitionException"/> and changes
/// nothing. Not thread-safe: its owner (a grain) applies one change at a time.
/// </summary>
public sealed class RunLifecycle
{
    private readonly TimeProvider _time;
    private readonly List<RunTransition> _history;

    /// <summary>A new run, <see cref="RunStatus.Queued"/>, on its first attempt.</summary>
    /// <param name="maxRetries">How many times a lost process may be retried before the run fails (0: never).</param>
    public RunLifecycle(int maxRetries, TimeProvider time)
        : this(new RunLifecycleState(RunStatus.Queued, 1, maxRetries, []), time)
    {
    }

    private RunLifecycle(RunLifecycleState state, TimeProvider time)
    {
        if (state.MaxRetries < 0)
            throw new PlatformException("max_retries", $"must be 0 or more, got {state.MaxRetries}");
        var history = state.History.IsDefault ? [] : state.History;
        int expectedAttempt = 1 + history.Count(t => t.To == RunStatus.Retrying || IsResume(t));
        if (state.Attempt != expectedAttempt)
            throw new PlatformException("attempt",
                $"must be {expectedAttempt} (1 + retries + resumes in the history), got {state.Attempt}");
        if (RetriesSinceResume(history) > state.MaxRetries)
            throw new PlatformException("history", $"has more retries since the last resume than max_retries ({state.MaxRetries})");
        if (history.Length > 0 && history[^1].To != state.Status)
            throw new PlatformException("history", $"ends in {history[^1].To} but the status is {state.Status}");
        _time = time;
        Status = state.Status;
        Attempt = state.Attempt;
        MaxRetries = state.MaxRetries;
        _history = [.. history];
    }

    /// <summary>Rebuilds a lifecycle from what <see cref="Snapshot"/> saved.</summary>
    public static RunLifecycle Restore(RunLifecycleState state, TimeProvider time) => new(state, time);

    public RunStatus Status { get; private set; }

    /// <summary>1 for the first attempt; each move to <see cref="RunStatus.Retrying"/> and each resume adds one.</summary>
    public int Attempt { get; private set; }

    public int MaxRetries { get; }

    /// <summary>Retries still allowed: a lost process with none left fails the run. A resume starts a fresh allowance.</summary>
    public int RetriesLeft => MaxRetries - RetriesSinceResume(_history);

    public bool IsTerminal => Status.IsTerminal();

    /// <summary>Every transition so far, oldest first.</summary>
    public IReadOnlyList<RunTransition> History => _history;

    public RunLifecycleState Snapshot() => new(Status, Attempt, MaxRetries, [.. _history]);

    /// <summary>
    /// Moves to <paramref name="to"/> and records why. A move to <see cref="RunStatus.Retrying"/> uses one retry and
    /// is refused when none is left (use <see cref="ProcessLost"/> to get Failed instead).
    /// </summary>
    public RunTransition Apply(RunStatus to, string reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
            throw new PlatformException("reason", "a transition needs a reason");
        RunStateMachine.EnsureAllowed(Status, to);
        if (to == RunStatus.Retrying && RetriesLeft <= 0)
            throw new IllegalTransitionException(Status, to,
                $"all {MaxRetries} retries are used (attempt {Attempt}); the run must fail instead");

        var transition = new RunTransition(Status, to, _time.GetUtcNow(), reason);
        _history.Add(transition);
        Status = to;
        if (to == RunStatus.Retrying || IsResume(transition)) Attempt++;
        return transition;
    }

    /// <summary>
    /// A user queues a failed or cancelled run again (a new attempt with a fresh retry allowance); its worker continues
    /// from the newest checkpoint. Refused for a run that has not ended or has succeeded.
    /// </summary>
    public RunTransition Resume(string reason) =>
        Status is RunStatus.Failed or RunStatus.Cancelled
            ? Apply(RunStatus.Queued, reason)
            // Running -> Queued exists too, but it is a lost worker's, not a user's to make.
            : throw new IllegalTransitionException(Status, RunStatus.Queued, $"only a failed or cancelled run can be resumed; this one is {Status}");

    private static bool IsResume(RunTransition t) => t.From.IsTerminal() && t.To == RunStatus.Queued;

    private static int RetriesSinceResume(IEnumerable<RunTransition> history) =>
        history.Reverse().TakeWhile(t => !IsResume(t)).Count(t => t.To == RunStatus.Retrying);

    /// <summary>
    /// The running process died: <see cref="RunStatus.Retrying"/> while a retry is left,
    /// otherwise <see cref="RunStatus.Failed"/> (the reason then says the retries ran out).
    /// </summary>
    public RunTransition ProcessLost(string reason) =>
        RetriesLeft > 0 || Status != RunStatus.Running
            ? Apply(RunStatus.Retrying, reason) // from a non-Running status this throws with the usual message
            : Apply(RunStatus.Failed, $"{reason} (no retries left after {Attempt} attempts)");

    /// <summary>
    /// The worker supervising the process is gone (it crashed, restarted, or missed its heartbeats): back to
    /// <see cref="RunStatus.Queued"/> without using a retry, since the process did not fail; it resumes from its newest
    /// checkpoint wherever it is placed next. Like a preemption, it continues the same attempt.
    /// </summary>
    public RunTransition WorkerLost(string reason) => Apply(RunStatus.Queued, reason);

    /// <summary>A non-retryable error (bad config, a crash that will repeat): straight to Failed.</summary>
    public RunTransition Fail(string reason) => Apply(RunStatus.Failed, reason);

    /// <summary>
    /// Cancel requested. Allowed from every non-terminal status; from Running the caller stops the process
    /// gracefully first and applies this once it has stopped.
    /// </summary>
    public RunTransition Cancel(string reason) => Apply(RunStatus.Cancelled, reason);
}
