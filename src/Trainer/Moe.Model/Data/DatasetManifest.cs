using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Moe.Model.Data;

/// <summary>One binary shard: raw little-endian token ids of <see cref="DatasetManifest.DType"/>, no header.</summary>
public sealed record ShardInfo(string File, long Tokens, string Sha256);

/// <summary>One split (train or validation): its documents, tokens and shards, in stream order.</summary>
public sealed record SplitInfo(long Documents, long Tokens, IReadOnlyList<ShardInfo> Shards);

/// <summary>One input file: the name it was given as, its content hash, size and how many documents it held.</summary>
public sealed record SourceInfo(string Name, string Sha256, long Bytes, long Documents);

/// <summary>
/// The <c>manifest.json</c> of a prepared dataset folder (snake_case on disk). <see cref="ContentHash"/> names the tokens
/// (see <see cref="ContentHashOf"/>); <see cref="VocabularyHash"/> the tokenizer that produced them; <see cref="Sources"/>
/// the input files.
/// </summary>
public sealed record DatasetManifest(
    string Format,
    DateTimeOffset Created,
    string DType,
    int VocabSize,
    string VocabularyHash,
    string ContentHash,
    long TokenCount,
    int? DocumentSeparator,
    long Seed,
    double ValidationFraction,
    IReadOnlyList<SourceInfo> Sources,
    SplitInfo Train,
    SplitInfo Validation)
{
    public const string FileName = "manifest.json";
    public const string CurrentFormat = "moe-token-shards/1";
    public const string UInt16 = "uint16";
    public const string UInt32 = "uint32";

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>uint16 when every id fits (ids 0..65,535: a vocabulary of at most 65,536), else uint32.</summary>
    public static string DTypeFor(int vocabSize) => vocabSize <= 1 << 16 ? UInt16 : UInt32;

    /// <summary>
    /// SHA-256 over the lines <c>"{file} {sha256}\n"</c> of every shard, train then validation: equal exactly when the
    /// tokens, their split and their sharding are equal, and checkable from the shard hashes alone.
    /// </summary>
    public static string ContentHashOf(SplitInfo train, SplitInfo validation) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Concat(train.Shards.Concat(validation.Shards).Select(s => $"{s.File} {s.Sha256}\n")))));

    [JsonIgnore]
    public int BytesPerToken => DType switch
    {
        UInt16 => 2,
        UInt32 => 4,
        _ => throw new InvalidDataException($"manifest: dtype '{DType}' is not uint16 or uint32"),
    };

    public SplitInfo Split(DatasetSplit split) => split == DatasetSplit.Train ? Train : Validation;

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static DatasetManifest FromJson(string json, string path)
    {
        try
        {
            var m = JsonSerializer.Deserialize<DatasetManifest>(json, JsonOptions) ?? throw new InvalidDataException($"{path}: manifest is null");
            if (m.Format != CurrentFormat) throw new InvalidDataException($"{path}: format '{m.Format}' is not {CurrentFormat}");
            _ = m.BytesPerToken;
            if (m.ContentHash != ContentHashOf(m.Train, m.Validation)) throw new InvalidDataException($"{path}: content hash does not match the shard hashes");
            return m;
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: invalid manifest ({e.Message})", e); }
    }
}

public enum DatasetSplit { Train, Validation }
