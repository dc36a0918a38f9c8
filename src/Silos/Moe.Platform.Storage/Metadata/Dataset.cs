namespace Moe.Platform.Storage.Metadata;

/// <summary>A named dataset; its content lives in immutable <see cref="DatasetVersion"/>s. Written by the Dataset grain (key = id).</summary>
public class Dataset
{
    public const int MaxIdLength = 64;

    public required string Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;

    public List<DatasetVersion> Versions { get; set; } = [];
}

public enum DatasetVersionStatus { Registered, Preparing, Ready, Failed }

/// <summary>
/// One tokenised snapshot of a dataset. Once <see cref="DatasetVersionStatus.Ready"/> it is immutable
/// (<see cref="PlatformDb"/> refuses changes), so a run that names it always trains on the same tokens.
/// </summary>
public class DatasetVersion
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public required string DatasetId { get; set; }
    /// <summary>1, 2, ... per dataset.</summary>
    public int Version { get; set; }
    public DatasetVersionStatus Status { get; set; } = DatasetVersionStatus.Registered;
    /// <summary>Hash of the token shards (set when preparation finishes).</summary>
    public string? ContentHash { get; set; }
    public long? TokenCount { get; set; }
    /// <summary>Hash of the tokenizer's vocabulary: a run's tokenizer must match it.</summary>
    public string? VocabularyHash { get; set; }
    /// <summary>Where the shards live in artifact storage.</summary>
    public required string ArtifactPrefix { get; set; }
    /// <summary>The registered source files (artifact keys with their SHA-256), as JSON.</summary>
    public string SourcesJson { get; set; } = "[]";
    /// <summary>SHA-256 of the tokenizer.json the shards were prepared with (stored beside them).</summary>
    public string? TokenizerSha256 { get; set; }
    public string? Error { get; set; }
    public DateTime? ReadyAt { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;

    public Dataset? Dataset { get; set; }
}
