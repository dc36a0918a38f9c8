using Moe.Model.Data;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Grains.Datasets;

/// <summary>
/// Where a version lives in artifact storage and what it holds: under <see cref="Prefix"/> exactly the folder
/// <c>TokenDataset.Prepare</c> writes (manifest.json and the shards it names) plus <see cref="TokenizerFileName"/>,
/// the canonical tokenizer.json whose SHA-256 is the manifest's vocabulary hash.
/// </summary>
public static class DatasetLayout
{
    public const string TokenizerFileName = "tokenizer.json";

    /// <summary><c>datasets/&lt;id&gt;/v&lt;N&gt;/</c>; the trailing '/' keeps v1 from matching v10's keys.</summary>
    public static string Prefix(string datasetId, int version) => $"datasets/{datasetId}/v{version}/";

    /// <summary>
    /// Downloads a prepared version into <paramref name="directory"/> (each file checked against its stored SHA-256),
    /// then rehashes the shards with <see cref="TokenDataset.Verify"/> and checks the manifest's content hash is
    /// <paramref name="contentHash"/>; throws <see cref="InvalidDataException"/> on any mismatch.
    /// </summary>
    public static async Task<DatasetManifest> DownloadVerifiedAsync(
        IArtifactStore store, string prefix, string contentHash, string directory, CancellationToken cancellationToken = default)
    {
        var keys = new List<string>();
        await foreach (var artifact in store.ListAsync(prefix, cancellationToken)) keys.Add(artifact.Key);
        foreach (var key in keys)
            await store.DownloadToFileAsync(key, Path.Combine(directory, key[prefix.Length..]), cancellationToken);
        var manifest = TokenDataset.Verify(directory);
        if (manifest.ContentHash != contentHash)
            throw new InvalidDataException($"{prefix}: content hash {manifest.ContentHash} is not the version's {contentHash}");
        return manifest;
    }
}
