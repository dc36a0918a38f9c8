using Moe.Platform.Datasets;

namespace Moe.Platform.Grains.Datasets;

/// <summary>What a dataset grain persists. A null <see cref="CreatedAt"/> means the dataset was never created.</summary>
[GenerateSerializer]
public sealed class DatasetState
{
    [Id(0)] public DateTimeOffset? CreatedAt { get; set; }
    [Id(1)] public string? Description { get; set; }
    /// <summary>Versions 1, 2, ... in order.</summary>
    [Id(2)] public List<DatasetVersionEntry> Versions { get; set; } = [];

    public DatasetState Copy() => new()
    {
        CreatedAt = CreatedAt, Description = Description, Versions = [.. Versions.Select(v => v.Copy())],
    };
}

/// <summary>
/// One version: the request it was registered with (kept so an interrupted preparation can run again) and, once
/// prepared, what came out of it.
/// </summary>
[GenerateSerializer]
public sealed class DatasetVersionEntry
{
    [Id(0)] public int Version { get; set; }
    [Id(1)] public DatasetVersionState State { get; set; }
    [Id(2)] public List<DatasetSource> Sources { get; set; } = [];
    [Id(3)] public string? TokenizerKey { get; set; }
    [Id(4)] public int? TrainTokenizerVocab { get; set; }
    [Id(5)] public double ValidationFraction { get; set; }
    [Id(6)] public DateTimeOffset CreatedAt { get; set; }
    [Id(7)] public string? ContentHash { get; set; }
    [Id(8)] public long? TrainTokens { get; set; }
    [Id(9)] public long? ValidationTokens { get; set; }
    [Id(10)] public string? TokenizerSha256 { get; set; }
    /// <summary>The manifest's vocabulary hash (the same as <see cref="TokenizerSha256"/>: the stored tokenizer is canonical).</summary>
    [Id(11)] public string? VocabularyHash { get; set; }
    [Id(12)] public string? Error { get; set; }
    [Id(13)] public DateTimeOffset? ReadyAt { get; set; }

    public DatasetVersionEntry Copy()
    {
        var copy = (DatasetVersionEntry)MemberwiseClone();
        copy.Sources = [.. Sources]; // the sources are immutable records, the list is not
        return copy;
    }
}
