using Moe.Platform.Datasets;

namespace Moe.Platform.Grains.Datasets;

/// <summary>
/// Everything <see cref="DatasetPreparer"/> needs to build one version, taken from the version's stored request, so
/// running it again (after a silo restart) produces the same files.
/// </summary>
/// <param name="CreatedAt">When the version was registered: the manifest's creation time, so a re-run writes the same bytes.</param>
public sealed record DatasetPreparationJob(
    string DatasetId, int Version, string ArtifactPrefix, IReadOnlyList<DatasetSource> Sources, string? TokenizerKey,
    int? TrainTokenizerVocab, double ValidationFraction, DateTimeOffset CreatedAt);

/// <summary>What a finished preparation reports back to its grain.</summary>
/// <param name="ContentHash">The manifest's content hash (what <c>TokenDataset.Verify</c> checks the shards against).</param>
/// <param name="TokenizerSha256">SHA-256 of the stored tokenizer.json, equal to the manifest's vocabulary hash.</param>
[GenerateSerializer, Immutable]
public sealed record DatasetPreparationResult(
    string ContentHash, long TrainTokens, long ValidationTokens, string TokenizerSha256, string VocabularyHash);

/// <summary>A preparation that failed; the message is one line naming the source (artifact key and line) at fault.</summary>
public sealed class DatasetPreparationException(string message, Exception? inner = null) : Exception(message, inner);
