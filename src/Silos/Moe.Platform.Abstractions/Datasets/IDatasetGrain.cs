using Orleans;

namespace Moe.Platform.Datasets;

/// <summary>
/// One dataset, keyed by its id (its name in lower-case letters, digits, '-', '_' and '.'). Its content lives in
/// versions 1, 2, ...: registered source files (already in artifact storage, each with its SHA-256) are tokenised into
/// shards in the background (Preparing), then the version is Ready (immutable: content hash, token count, tokenizer
/// stored beside the shards) or Failed with the reason. Runs name a dataset by id and optionally a version.
/// </summary>
public interface IDatasetGrain : IGrainWithStringKey
{
    Task<DatasetSnapshot> CreateAsync(string? description);

    Task<DatasetSnapshot> GetAsync();

    /// <summary>
    /// Registers the next version and starts preparing it. Refused (field named) when a source is missing from the
    /// store or its SHA-256 does not match, or the tokenizer choice is invalid.
    /// </summary>
    Task<DatasetVersionSnapshot> AddVersionAsync(DatasetVersionRequest request);

    /// <summary>
    /// The version a run would train on: <paramref name="version"/>, or the newest Ready one when null. Refused with a
    /// clear error (field "data.datasets") when it does not exist, is still preparing, or failed.
    /// </summary>
    Task<DatasetVersionSnapshot> ResolveForRunAsync(int? version);
}

/// <summary>One source file already in artifact storage; <paramref name="Sha256"/> is what the uploader computed.</summary>
[GenerateSerializer, Immutable]
public sealed record DatasetSource(string ArtifactKey, string Sha256);

/// <summary>
/// How to build a version: the sources (text or JSON lines, as <c>moe-trainer data prepare</c> reads), the tokenizer
/// (an existing tokenizer.json in the store by key, or a new byte-level BPE of <paramref name="TrainTokenizerVocab"/>
/// trained on the sources), and the share of documents held out for validation.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record DatasetVersionRequest(
    IReadOnlyList<DatasetSource> Sources, string? TokenizerKey = null, int? TrainTokenizerVocab = null,
    double ValidationFraction = 0.05);

public enum DatasetVersionState { Preparing, Ready, Failed }

/// <param name="ArtifactPrefix">Where the prepared dataset lives (manifest.json, shards, tokenizer.json).</param>
/// <param name="ContentHash">The manifest's content hash; a worker checks the files it downloads against it.</param>
[GenerateSerializer, Immutable]
public sealed record DatasetVersionSnapshot(
    string DatasetId, int Version, DatasetVersionState State, string ArtifactPrefix, IReadOnlyList<DatasetSource> Sources,
    string? ContentHash, long? TrainTokens, long? ValidationTokens, string? TokenizerSha256, string? Error,
    DateTimeOffset CreatedAt, DateTimeOffset? ReadyAt);

[GenerateSerializer, Immutable]
public sealed record DatasetSnapshot(string DatasetId, string? Description, DateTimeOffset CreatedAt, IReadOnlyList<DatasetVersionSnapshot> Versions);
