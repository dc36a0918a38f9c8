namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// A complete checkpoint of a run in artifact storage. A checkpoint that a <see cref="ModelVersion"/> references
/// cannot be deleted (restricting foreign key), so retention must skip it.
/// </summary>
public class Checkpoint
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public required string RunId { get; set; }
    public long Step { get; set; }
    /// <summary>Total bytes of its files in artifact storage.</summary>
    public long SizeBytes { get; set; }
    public required string ArtifactPrefix { get; set; }
    public double? ValLoss { get; set; }
    /// <summary>SHA-256 (hex) of the checkpoint's manifest.json, which itself hashes every file.</summary>
    public required string ManifestSha256 { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;

    public List<ModelVersion> ModelVersions { get; set; } = [];
}
