using Moe.Model.Tokenization;
using Moe.Platform.Datasets;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Grains.Datasets;

/// <summary>
/// Checks a <see cref="DatasetVersionRequest"/> before anything is saved: its shape first (no I/O), then that every
/// named artifact exists with the SHA-256 the caller gave. Each refusal is a <see cref="PlatformException"/> naming
/// the request field (<c>sources[1].sha256</c>).
/// </summary>
public static class DatasetRequestValidator
{
    /// <summary>The trainer's floor: the special tokens and the 256 byte tokens come before any merge.</summary>
    public static int MinTrainTokenizerVocab => SpecialTokens.Count + 256;

    /// <summary>A ceiling well above the models here (4,096) that keeps one request from tying up a silo for hours.</summary>
    public const int MaxTrainTokenizerVocab = 1 << 17;

    public const double MaxValidationFraction = 0.5;

    /// <summary>The request with SHA-256 hashes in lower case, or a <see cref="PlatformException"/>.</summary>
    public static async Task<DatasetVersionRequest> ValidateAsync(
        DatasetVersionRequest? request, IArtifactStore store, CancellationToken cancellationToken = default)
    {
        var normalized = ValidateShape(request);
        for (var i = 0; i < normalized.Sources.Count; i++)
        {
            var source = normalized.Sources[i];
            var stored = await store.GetInfoAsync(source.ArtifactKey, cancellationToken)
                ?? throw new PlatformException($"sources[{i}].artifact_key", $"artifact '{source.ArtifactKey}' does not exist in the artifact store");
            if (!string.Equals(stored.Sha256, source.Sha256, StringComparison.Ordinal))
                throw new PlatformException($"sources[{i}].sha256",
                    $"'{source.Sha256}' does not match the stored artifact '{source.ArtifactKey}' (sha256 '{stored.Sha256}')");
        }
        if (normalized.TokenizerKey is { } tokenizer && await store.GetInfoAsync(tokenizer, cancellationToken) is null)
            throw new PlatformException("tokenizer_key", $"artifact '{tokenizer}' does not exist in the artifact store");
        return normalized;
    }

    /// <summary>Everything that needs no store: sources, tokenizer choice, validation fraction.</summary>
    public static DatasetVersionRequest ValidateShape(DatasetVersionRequest? request)
    {
        if (request is null) throw new PlatformException("request", "is required");
        if (request.Sources is not { Count: > 0 }) throw new PlatformException("sources", "at least one source file is required");

        var sources = new List<DatasetSource>(request.Sources.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Sources.Count; i++)
        {
            var source = request.Sources[i] ?? throw new PlatformException($"sources[{i}]", "is required");
            RequireKey(source.ArtifactKey, $"sources[{i}].artifact_key");
            if (!seen.Add(source.ArtifactKey))
                throw new PlatformException($"sources[{i}].artifact_key", $"'{source.ArtifactKey}' is listed twice");
            if (source.Sha256 is null || source.Sha256.Length != 64 || !source.Sha256.All(char.IsAsciiHexDigit))
                throw new PlatformException($"sources[{i}].sha256", $"'{source.Sha256}' is not a SHA-256 (64 hex digits)");
            sources.Add(source with { Sha256 = source.Sha256.ToLowerInvariant() });
        }

        switch (request.TokenizerKey, request.TrainTokenizerVocab)
        {
            case (null, null):
                throw new PlatformException("tokenizer_key", "give tokenizer_key (an existing tokenizer.json) or train_tokenizer_vocab (train one)");
            case (not null, not null):
                throw new PlatformException("tokenizer_key", "give tokenizer_key or train_tokenizer_vocab, not both");
            case (not null, null):
                RequireKey(request.TokenizerKey, "tokenizer_key");
                break;
            case (null, { } vocab):
                RequireTrainVocab(vocab, "train_tokenizer_vocab");
                break;
        }

        RequireValidationFraction(request.ValidationFraction, "validation_fraction");
        return request with { Sources = sources };
    }

    /// <summary>The size of a tokenizer to train, checked before anything is stored (the API names its own field).</summary>
    public static void RequireTrainVocab(int vocab, string field)
    {
        if (vocab < MinTrainTokenizerVocab || vocab > MaxTrainTokenizerVocab)
            throw new PlatformException(field,
                $"{vocab} is outside [{MinTrainTokenizerVocab}, {MaxTrainTokenizerVocab}] ({SpecialTokens.Count} special and 256 byte tokens come first)");
    }

    /// <summary>The share of documents held out for validation, checked before anything is stored.</summary>
    public static void RequireValidationFraction(double fraction, string field)
    {
        if (!double.IsFinite(fraction) || fraction is < 0 or > MaxValidationFraction)
            throw new PlatformException(field, $"{fraction} is outside [0, {MaxValidationFraction}]");
    }

    private static void RequireKey(string? key, string field)
    {
        if (string.IsNullOrWhiteSpace(key)) throw new PlatformException(field, "is required");
        try
        {
            ArtifactKey.Validate(key, field);
        }
        catch (ArgumentException e)
        {
            throw new PlatformException(field, e.Message.Split(" (Parameter")[0]);
        }
    }
}
