using System.Collections.Immutable;

namespace Moe.Platform.Runs;

/// <summary>
/// What a <see cref="RunLifecycle"/> persists (a grain's state): the status, the attempt number (1 for the first
/// run, +1 per retry), how many retries are allowed, and every transition so far, oldest first.
/// </summary>
public sealed record RunLifecycleState(
    RunStatus Status, int Attempt, int MaxRetries, ImmutableArray<RunTransition> History);
