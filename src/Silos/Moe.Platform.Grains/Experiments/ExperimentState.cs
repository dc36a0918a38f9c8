namespace Moe.Platform.Grains.Experiments;

/// <summary>What an experiment grain persists. A null name means it was never created.</summary>
[GenerateSerializer]
public sealed class ExperimentState
{
    [Id(0)] public string? Name { get; set; }
    [Id(1)] public string? Description { get; set; }
    [Id(2)] public string Project { get; set; } = "default";
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }
    [Id(4)] public DateTimeOffset? DeletedAt { get; set; }
    /// <summary>Runs admitted and not yet ended: they block deletion.</summary>
    [Id(5)] public List<string> ActiveRunIds { get; set; } = [];

    public ExperimentState Copy() => new()
    {
        Name = Name, Description = Description, Project = Project, CreatedAt = CreatedAt, DeletedAt = DeletedAt,
        ActiveRunIds = [.. ActiveRunIds],
    };
}
