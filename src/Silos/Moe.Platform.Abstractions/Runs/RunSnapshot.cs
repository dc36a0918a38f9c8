using System.Collections.Immutable;
using Orleans;

namespace Moe.Platform.Runs;

/// <summary>
/// A run as the portal shows it: its spec, where it is in its life (status, attempt, every transition with its
/// reason), the worker it is placed on (null while queued), and the training progress its worker last reported.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RunSnapshot(
    string RunId, RunSpec Spec, DateTimeOffset SubmittedAt, RunStatus Status, int Attempt,
    ImmutableArray<RunTransition> History, string? WorkerId, long? LastStep, double? BestValLoss);
