namespace Moe.Platform.Storage.Metadata;

/// <summary>A named group of runs (one question being investigated); the name is unique.</summary>
public class Experiment
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public required string Name { get; set; }
    public string? Description { get; set; }
    /// <summary>Placeholder for multi-project tenancy (users and roles come with the portal).</summary>
    public string Project { get; set; } = "default";
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;

    public List<Run> Runs { get; set; } = [];
}
