using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Moe.Platform.Runs;

/// <summary>
/// The allowed moves between <see cref="RunStatus"/> values, and nothing else: pure, no clock, no retry counting
/// (<see cref="RunLifecycle"/> adds those).
/// </summary>
public static class RunStateMachine
{
    // Each edge has one meaning; the comment is the event that causes it.
    private static readonly FrozenDictionary<RunStatus, ImmutableArray<RunStatus>> Edges =
        new Dictionary<RunStatus, ImmutableArray<RunStatus>>
        {
            [RunStatus.Queued] = [RunStatus.Scheduled /* placed on a worker */, RunStatus.Failed /* can never run, e.g. unschedulable */, RunStatus.Cancelled],
            [RunStatus.Scheduled] =
            [
                RunStatus.Running /* process started */, RunStatus.Queued /* placement lost */, RunStatus.Cancelled,
                RunStatus.Failed /* the worker cannot prepare it, e.g. a dataset whose hash does not match */,
            ],
            [RunStatus.Running] =
            [
                RunStatus.Succeeded /* exit 0 after all steps */,
                RunStatus.Failed /* non-retryable error, or retries exhausted */,
                RunStatus.Retrying /* process died, a retry left */,
                RunStatus.Resuming /* preempted: graceful stop, checkpoint kept */,
                RunStatus.Cancelled /* after a graceful stop */,
                RunStatus.Queued /* its worker was lost: not the process's failure, so no retry is used */,
            ],
            [RunStatus.Retrying] = [RunStatus.Queued, RunStatus.Cancelled],
            [RunStatus.Resuming] = [RunStatus.Queued, RunStatus.Cancelled],
            [RunStatus.Succeeded] = [],
            // A user resumes a failed or cancelled run: queued again, it continues from its newest checkpoint.
            [RunStatus.Failed] = [RunStatus.Queued],
            [RunStatus.Cancelled] = [RunStatus.Queued],
        }.ToFrozenDictionary();

    /// <summary>Whether a run in <paramref name="from"/> may move to <paramref name="to"/>.</summary>
    public static bool IsAllowed(RunStatus from, RunStatus to) =>
        Edges.TryGetValue(from, out var targets) && targets.Contains(to);

    /// <summary>Every status reachable in one move from <paramref name="from"/> (empty for terminal ones).</summary>
    public static ImmutableArray<RunStatus> AllowedFrom(RunStatus from) =>
        Edges.TryGetValue(from, out var targets) ? targets : [];

    /// <summary>Throws <see cref="IllegalTransitionException"/> unless the move is allowed.</summary>
    public static void EnsureAllowed(RunStatus from, RunStatus to)
    {
        if (!IsAllowed(from, to)) throw new IllegalTransitionException(from, to);
    }
}
