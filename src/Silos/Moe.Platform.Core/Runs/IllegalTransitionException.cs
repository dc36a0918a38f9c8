namespace Moe.Platform.Runs;

/// <summary>A move the run state machine does not allow (the API answers 409 Conflict).</summary>
public sealed class IllegalTransitionException(RunStatus from, RunStatus to, string? detail = null)
    : PlatformException("status", detail is null
        ? $"a run cannot go from {from} to {to}"
        : $"a run cannot go from {from} to {to}: {detail}", PlatformErrorKind.Conflict)
{
    public RunStatus From { get; } = from;
    public RunStatus To { get; } = to;
}
