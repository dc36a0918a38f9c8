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
    /// <summary>Placeholder for multi-project tenancy (users and roles come with the portal).</summary>
    public string Project { get; set; } = "default";
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? DeletedAt { get; set; }

    public List<Run> Runs { get; set; } = [];
}
