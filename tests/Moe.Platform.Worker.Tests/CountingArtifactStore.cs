using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Worker.Tests;

/// <summary>A store that counts folder uploads, to prove a checkpoint is never uploaded twice.</summary>
public sealed class CountingArtifactStore(IArtifactStore inner) : IArtifactStore
{
    private int _directoryUploads;

    public int DirectoryUploads => Volatile.Read(ref _directoryUploads);

    public Task<IReadOnlyList<ArtifactInfo>> UploadDirectoryAsync(string prefix, string directory, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _directoryUploads);
        return inner.UploadDirectoryAsync(prefix, directory, cancellationToken);
    }

    public Task<ArtifactInfo> UploadAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.UploadAsync(key, content, cancellationToken);
    public Task<ArtifactInfo> UploadFileAsync(string key, string path, CancellationToken cancellationToken = default) => inner.UploadFileAsync(key, path, cancellationToken);
    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);
    public Task<ArtifactInfo> DownloadToFileAsync(string key, string path, CancellationToken cancellationToken = default) => inner.DownloadToFileAsync(key, path, cancellationToken);
    public Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => inner.GetInfoAsync(key, cancellationToken);
    public IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);
    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
    public Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) => inner.DeletePrefixAsync(prefix, cancellationToken);
}
