using System.Text;
using System.Text.Json;
using Moe.Platform.Datasets;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Tests.Datasets;

/// <summary>Small, deterministic training corpora written into an artifact store the way an uploader would.</summary>
internal static class DatasetCorpus
{
    private static readonly string[] Words =
    [
        "the", "expert", "router", "sends", "each", "token", "to", "two", "experts", "of", "eight", "while", "a",
        "shared", "layer", "learns", "common", "features", "and", "balance", "loss", "keeps", "load", "even", "across",
        "devices", "gradient", "checkpoint", "shards", "dataset", "version", "tokenizer", "merges", "bytes",
    ];

    /// <summary><paramref name="lines"/> JSON lines <c>{"text": ...}</c> of a few sentences each.</summary>
    public static string JsonLines(int lines, int seed = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            var words = Enumerable.Range(0, 8 + random.Next(24)).Select(_ => Words[random.Next(Words.Length)]);
            var line = $"{string.Join(' ', words)}. Step {random.Next(10_000)} of run {i}.";
            text.Append(JsonSerializer.Serialize(new { text = line })).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Uploads <paramref name="content"/> and returns the source as a caller registers it (key + SHA-256).</summary>
    public static async Task<DatasetSource> UploadAsync(IArtifactStore store, string key, string content)
    {
        var info = await store.UploadAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(content)), TestContext.Current.CancellationToken);
        return new DatasetSource(info.Key, info.Sha256);
    }

    /// <summary>A JSON-lines corpus under a fresh key.</summary>
    public static Task<DatasetSource> UploadJsonLinesAsync(IArtifactStore store, string folder, int lines = 300, int seed = 1) =>
        UploadAsync(store, $"uploads/{folder}/corpus-{seed}.jsonl", JsonLines(lines, seed));

    /// <summary>The smallest vocabulary the trainer accepts plus a few merges: quick to train.</summary>
    public static DatasetVersionRequest TrainSmall(params DatasetSource[] sources) =>
        new(sources, TrainTokenizerVocab: 300, ValidationFraction: 0.1);
}
