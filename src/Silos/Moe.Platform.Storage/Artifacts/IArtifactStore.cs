namespace Moe.Platform.Storage.Artifacts;

/// <summary>
/// Checkpoints, dataset shards and tokenizers, addressed by relative keys such as
/// <c>runs/&lt;runId&gt;/checkpoints/step-00000200/model.safetensors</c> (see <see cref="ArtifactKey"/> for the rules).
/// Every write is atomic: readers see the old artifact or the new one, never a partial one. The SHA-256 of each
/// artifact is computed while it is uploaded and recorded with it; <see cref="DownloadToFileAsync"/> checks it.
/// </summary>
/// <remarks>
/// Prefixes are plain string prefixes of keys, as in Azure Blob Storage: <c>runs/a</c> matches <c>runs/a/x</c> and
/// <c>runs/ab/x</c>; end the prefix with '/' (<c>runs/a/</c>) to mean one folder only.
/// </remarks>
public interface IArtifactStore
{
    /// <summary>Writes <paramref name="content"/> (read to its end) under <paramref name="key"/>, replacing any artifact there.</summary>
    Task<ArtifactInfo> UploadAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Uploads the file at <paramref name="path"/> under <paramref name="key"/>.</summary>
    Task<ArtifactInfo> UploadFileAsync(string key, string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Uploads every file under <paramref name="directory"/> (recursively) as <c>prefix/relative/path</c>; a '/' is
    /// added to a non-empty prefix that lacks one. All keys are checked before anything is written. Returns the
    /// artifacts ordered by key. Each file is atomic; the folder as a whole is not (write a manifest last).
    /// </summary>
    Task<IReadOnlyList<ArtifactInfo>> UploadDirectoryAsync(string prefix, string directory, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the artifact for reading. Nothing is verified against the recorded SHA-256 (use
    /// <see cref="DownloadToFileAsync"/> for that). Throws <see cref="ArtifactNotFoundException"/> when missing.
    /// </summary>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Downloads the artifact to <paramref name="path"/> (parent folders created) through a temporary file in the same
    /// folder, renamed into place only once its length and SHA-256 match the recorded ones. On a mismatch throws
    /// <see cref="InvalidDataException"/> naming the key and leaves no file behind (an existing file at
    /// <paramref name="path"/> is left as it was). Throws <see cref="ArtifactNotFoundException"/> when missing.
    /// </summary>
    Task<ArtifactInfo> DownloadToFileAsync(string key, string path, CancellationToken cancellationToken = default);

    /// <summary>The recorded length, hash and time of the artifact, or null when there is none.</summary>
    Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The artifacts whose keys start with <paramref name="prefix"/> ("" for all), in ordinal key order.</summary>
    IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the artifact; true when it existed.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every artifact whose key starts with <paramref name="prefix"/> and returns how many. The prefix must
    /// not be empty, so a blank argument cannot wipe the store.
    /// </summary>
    Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default);
}
