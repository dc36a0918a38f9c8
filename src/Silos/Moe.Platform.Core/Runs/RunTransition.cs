namespace Moe.Platform.Runs;

/// <summary>One move in a run's history: what it left, what it entered, when, and why (shown in the portal).</summary>
public sealed record RunTransition(RunStatus From, RunStatus To, DateTimeOffset At, string Reason);
