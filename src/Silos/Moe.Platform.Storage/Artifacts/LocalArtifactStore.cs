using System.Runtime.CompilerServices;

namespace Moe.Platform.Storage.Artifacts;

/// <summary>
/// Artifacts in a local folder (the embedded default): the bytes of <c>key</c> in <c>root/objects/key</c>, its length,
/// SHA-256 and time in <c>root/meta/key.json</c>, in-flight writes in <c>root/tmp</c>. Both files are written
/// atomically, data first: an artifact exists once its record does, so a crash mid-upload leaves no half artifact.
/// </summary>
/// <remarks>
/// Unlike a blob container, a folder cannot hold both a file <c>a</c> and a file <c>a/b</c>; such an upload fails
/// with an <see cref="IOException"/>. Readers racing a concurrent overwrite of the same key may see the new bytes with
/// the old record for a moment; <see cref="ArtifactStoreBase.DownloadToFileAsync"/> then reports a mismatch rather than
/// returning wrong data.
/// </remarks>
public sealed class LocalArtifactStore : ArtifactStoreBase
{
    private readonly string _objects, _meta, _tmp;

    public LocalArtifactStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        _objects = Path.Combine(Root, "objects");
        _meta = Path.Combine(Root, "meta");
        _tmp = Path.Combine(Root, "tmp");
        foreach (var dir in new[] { _objects, _meta, _tmp }) Directory.CreateDirectory(dir);
    }

    /// <summary>The store's folder.</summary>
    public string Root { get; }

    /// <summary>Where the bytes of <paramref name="key"/> live, for tools that read local artifacts in place
    /// (memory-mapping a checkpoint); write only through the store.</summary>
    public string DataPath(string key)
    {
        ArtifactKey.Validate(key);
        return Path.Combine(_objects, key);
    }

    private string RecordPath(string key) => Path.Combine(_meta, key + ".json");

    public override async Task<ArtifactInfo> UploadAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        string data = DataPath(key);
        ArgumentNullException.ThrowIfNull(content);
        var (length, sha256) = await AtomicFile.WriteAsync(data, _tmp,
            (file, ct) => HashingCopy.CopyAsync(content, file, ct), cancellationToken);
        var info = new ArtifactInfo(key, length, sha256, DateTimeOffset.UtcNow);
        await AtomicFile.WriteAsync(RecordPath(key), _tmp, async (file, ct) =>
        {
            await LocalArtifactRecord.From(info).WriteAsync(file, ct);
            return true;
        }, cancellationToken);
        return info;
    }

    public override async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) =>
        (await OpenForDownloadAsync(key, cancellationToken)).Content;

    protected override async Task<(Stream Content, ArtifactInfo Recorded)> OpenForDownloadAsync(string key,
        CancellationToken cancellationToken)
    {
        string data = DataPath(key);
        var record = await LocalArtifactRecord.ReadAsync(RecordPath(key), cancellationToken)
                     ?? throw new ArtifactNotFoundException(key);
        try
        {
            // FileShare.Delete: an overwrite (rename) or delete may replace the file while it is being read.
            var stream = new FileStream(data, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete,
                bufferSize: 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return (stream, record.ToInfo(key));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArtifactNotFoundException(key); // deleted after the record was read
        }
    }

    public override async Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        return (await LocalArtifactRecord.ReadAsync(RecordPath(key), cancellationToken))?.ToInfo(key);
    }

    public override async IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        // Walk only the deepest folder the prefix names ("runs/a" -> meta/runs), then filter by the full prefix.
        int slash = prefix.LastIndexOf('/');
        string start = slash < 0 ? _meta : Path.Combine(_meta, prefix[..slash]);
        if (!Directory.Exists(start)) yield break;

        var keys = Directory.EnumerateFiles(start, "*.json", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(_meta, path).Replace(Path.DirectorySeparatorChar, '/')[..^".json".Length])
            .Where(key => key.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var key in keys)
        {
            // Null: deleted since the folder was walked.
            if (await LocalArtifactRecord.ReadAsync(RecordPath(key), cancellationToken) is { } record)
                yield return record.ToInfo(key);
        }
    }

    public override Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        string data = DataPath(key);
        cancellationToken.ThrowIfCancellationRequested();
        // Moving the record away is the atomic step: of two concurrent deletes, exactly one sees it exist.
        string claimed = Path.Combine(_tmp, $".delete.{Guid.NewGuid():N}.json");
        try
        {
            File.Move(RecordPath(key), claimed);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult(false);
        }
        File.Delete(data);
        File.Delete(claimed);
        PruneEmptyFolders(Path.GetDirectoryName(data)!, _objects);
        PruneEmptyFolders(Path.GetDirectoryName(RecordPath(key))!, _meta);
        return Task.FromResult(true);
    }

    public override async Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        if (prefix.Length == 0) throw new ArgumentException("the prefix must not be empty (that would delete every artifact)", nameof(prefix));
        int deleted = 0;
        var keys = new List<string>();
        await foreach (var info in ListAsync(prefix, cancellationToken)) keys.Add(info.Key);
        foreach (var key in keys)
            if (await DeleteAsync(key, cancellationToken)) deleted++;
        return deleted;
    }

    /// <summary>Removes empty folders from <paramref name="folder"/> up to (not including) <paramref name="root"/>,
    /// so deleting a run leaves no empty tree behind.</summary>
    private static void PruneEmptyFolders(string folder, string root)
    {
        while (folder.Length > root.Length && folder.StartsWith(root, StringComparison.Ordinal))
        {
            try
            {
                if (Directory.EnumerateFileSystemEntries(folder).Any()) return;
                Directory.Delete(folder);
            }
            catch (IOException) { return; } // not empty any more (a concurrent upload) or already gone
            folder = Path.GetDirectoryName(folder)!;
        }
    }
}
