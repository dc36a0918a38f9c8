using Moe.Platform.Runs;

namespace Moe.Platform.Grains.Runs;

/// <summary>What a run grain persists. Null spec and lifecycle mean the run was never created.</summary>
[GenerateSerializer]
public sealed class RunState
{
    [Id(0)] public RunSpec? Spec { get; set; }
    [Id(1)] public DateTimeOffset SubmittedAt { get; set; }
    [Id(2)] public RunLifecycleState? Lifecycle { get; set; }
    [Id(3)] public string? WorkerId { get; set; }
    [Id(4)] public long? LastStep { get; set; }
    [Id(5)] public double? BestValLoss { get; set; }
}
