namespace Moe.Platform.Storage.Metadata;

/// <summary>A registered model: version N of name X is one checkpoint (unique per name and version).</summary>
public class ModelVersion
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public required string Name { get; set; }
    public int Version { get; set; }
    public Guid CheckpointId { get; set; }
    public string? Description { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;

    public Checkpoint? Checkpoint { get; set; }
}

/// <summary>A movable name for one version of a model ("production" -> version 3).</summary>
public class ModelAlias
{
    public required string ModelName { get; set; }
    public required string Alias { get; set; }
    public Guid ModelVersionId { get; set; }
    public DateTime UpdatedAt { get; set; } = DateTime.UtcNow;

    public ModelVersion? ModelVersion { get; set; }
}
