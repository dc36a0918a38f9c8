namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// A named group of runs (one question being investigated); the name is unique, also among deleted ones. Written by
/// the Experiment grain (its id is the grain's key). Deleting marks it (<see cref="DeletedAt"/>) and keeps its runs,
/// whose checkpoints models may still reference.
/// </summary>
public class Experiment
{
    public const int MaxIdLength = 64;

    public required string Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    /// <summary>The <see cref="Metadata.Project"/> it belongs to (its id); who may see and change it follows from there.</summary>
    public string Project { get; set; } = Metadata.Project.DefaultId;
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? DeletedAt { get; set; }

    public List<Run> Runs { get; set; } = [];
}
