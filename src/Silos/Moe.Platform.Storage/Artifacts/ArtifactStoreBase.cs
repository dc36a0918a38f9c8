namespace Moe.Platform.Storage.Artifacts;

/// <summary>
/// What both stores share: file and folder uploads on top of <see cref="UploadAsync"/>, and the verified, atomic
/// download on top of <see cref="OpenForDownloadAsync"/>.
/// </summary>
public abstract class ArtifactStoreBase : IArtifactStore
{
    /// <summary>How many files of a folder upload are in flight at once.</summary>
    protected virtual int DirectoryUploadParallelism => 4;

    public abstract Task<ArtifactInfo> UploadAsync(string key, Stream content, CancellationToken cancellationToken = default);
    public abstract Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default);
    public abstract Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default);
    public abstract IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);
    public abstract Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);
    public abstract Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the artifact together with what was recorded for it, consistently: the stream must deliver the bytes the
    /// info describes (or fail). Throws <see cref="ArtifactNotFoundException"/> when missing.
    /// </summary>
    protected abstract Task<(Stream Content, ArtifactInfo Recorded)> OpenForDownloadAsync(string key, CancellationToken cancellationToken);

    public async Task<ArtifactInfo> UploadFileAsync(string key, string path, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        ArgumentException.ThrowIfNullOrEmpty(path);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await UploadAsync(key, file, cancellationToken);
    }

    public async Task<IReadOnlyList<ArtifactInfo>> UploadDirectoryAsync(string prefix, string directory,
        CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string root = Path.GetFullPath(directory);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"folder '{directory}' does not exist");

        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(file => (File: file, Key: ArtifactKey.Combine(prefix,
                Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/'))))
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .ToArray();
        // Check every key first so a bad file name fails the call before anything is written.
        foreach (var (_, key) in files) ArtifactKey.Validate(key, nameof(directory));

        var infos = new ArtifactInfo[files.Length];
        await Parallel.ForAsync(0, files.Length,
            new ParallelOptions { MaxDegreeOfParallelism = DirectoryUploadParallelism, CancellationToken = cancellationToken },
            async (i, ct) => infos[i] = await UploadFileAsync(files[i].Key, files[i].File, ct));
        return infos;
    }

    public async Task<ArtifactInfo> DownloadToFileAsync(string key, string path, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (content, recorded) = await OpenForDownloadAsync(key, cancellationToken);
        await using (content)
        {
            if (recorded.Sha256.Length == 0)
                throw new InvalidDataException(
                    $"artifact '{key}' has no recorded SHA-256 (it was not written by the artifact store) and cannot be verified");
            await AtomicFile.WriteAsync(path, tempDirectory: null, async (file, ct) =>
            {
                var (length, sha256) = await HashingCopy.CopyAsync(content, file, ct);
                // Throwing here makes AtomicFile delete the temporary file, so a bad download leaves nothing.
                if (length != recorded.Length || sha256 != recorded.Sha256)
                    throw new InvalidDataException(
                        $"artifact '{key}' is corrupt: read {length} bytes with SHA-256 {sha256}, " +
                        $"but {recorded.Length} bytes with SHA-256 {recorded.Sha256} were recorded when it was uploaded");
                return length;
            }, cancellationToken);
        }
        return recorded;
    }
}
