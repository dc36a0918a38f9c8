namespace Moe.Platform.Tests.GrainStorage;

public enum RunPhase { Queued, Running, Finished }

/// <summary>A grain state shaped like the real ones: nested lists, a dictionary, offsets, enums, a nullable.</summary>
public sealed record TrainingRunSnapshot
{
    public string Name { get; init; } = "";
    public RunPhase Phase { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public List<StepRecord> Steps { get; init; } = [];
    public Dictionary<string, List<int>> ExpertLoad { get; init; } = [];
}

public sealed record StepRecord(long Step, double Loss, RunPhase Phase, List<string> Tags);
