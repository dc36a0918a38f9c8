using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Moe.Platform.Storage.Artifacts;

/// <summary>
/// Artifacts as block blobs in one Azure Blob Storage container (created when missing). An upload stages the content
/// in blocks, each sent with an MD5 the service checks, while the SHA-256 of the whole is computed; the block list is
/// then committed with the SHA-256 in the blob's metadata (<c>sha256</c>), so content and hash appear together,
/// atomically. Reads ask the service for an MD5 of each range and check it.
/// </summary>
public sealed class AzureBlobArtifactStore : ArtifactStoreBase
{
    /// <summary>The blob metadata entry holding the lowercase hex SHA-256 of the content.</summary>
    public const string Sha256Metadata = "sha256";

    /// <summary>The default block size: 4 MiB, so an artifact may be up to about 195 GiB (50,000 blocks).</summary>
    public const int DefaultBlockSize = 4 << 20;

    // Transactional MD5 on a ranged read is limited to 4 MiB ranges by the service.
    private const int ReadBufferSize = 4 << 20;
    private const int MaxBlocks = 50_000;

    private static readonly UploadTransferValidationOptions BlockValidation = new() { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 };
    private static readonly DownloadTransferValidationOptions ReadValidation = new()
    {
        ChecksumAlgorithm = StorageChecksumAlgorithm.MD5,
        AutoValidateChecksum = true,
    };

    private readonly BlobContainerClient _container;
    private readonly int _blockSize;
    private readonly int _parallelBlocks;
    private volatile bool _containerExists;

    /// <param name="connectionString">An Azure Storage connection string (Azurite's for development).</param>
    /// <param name="containerName">The container, created on first use when missing.</param>
    /// <param name="blockSize">Bytes per staged block.</param>
    /// <param name="parallelBlocks">Blocks of one upload in flight at once (each holds a buffer of
    /// <paramref name="blockSize"/>).</param>
    public AzureBlobArtifactStore(string connectionString, string containerName, int blockSize = DefaultBlockSize,
        int parallelBlocks = 4)
        : this(new BlobContainerClient(connectionString, containerName), blockSize, parallelBlocks)
    {
    }

    /// <summary>For a container client made elsewhere (a managed identity, custom retry options).</summary>
    public AzureBlobArtifactStore(BlobContainerClient container, int blockSize = DefaultBlockSize, int parallelBlocks = 4)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, 256 << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelBlocks, 1);
        _container = container;
        _blockSize = blockSize;
        _parallelBlocks = parallelBlocks;
    }

    /// <summary>The container's name.</summary>
    public string ContainerName => _container.Name;

    public override async Task<ArtifactInfo> UploadAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        await EnsureContainerAsync(cancellationToken);
        var blob = _container.GetBlockBlobClient(key);

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        // Block ids are unique per upload, so concurrent uploads of one key cannot commit each other's blocks.
        string upload = Guid.NewGuid().ToString("N");
        var blockIds = new List<string>();
        var inFlight = new List<Task>();
        long length = 0;
        try
        {
            while (true)
            {
                byte[] buffer = ArrayPool<byte>.Shared.Rent(_blockSize);
                int read;
                try
                {
                    read = await content.ReadAtLeastAsync(buffer.AsMemory(0, _blockSize), _blockSize,
                        throwOnEndOfStream: false, cancellationToken);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw;
                }
                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }
                if (blockIds.Count == MaxBlocks)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw new InvalidOperationException(
                        $"artifact '{key}' exceeds {MaxBlocks} blocks of {_blockSize} bytes; use a larger block size");
                }
                sha.AppendData(buffer, 0, read);
                length += read;
                string blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{upload}-{blockIds.Count:D6}"));
                blockIds.Add(blockId);
                if (inFlight.Count == _parallelBlocks)
                {
                    var done = await Task.WhenAny(inFlight);
                    inFlight.Remove(done);
                    await done; // surface a failed block now rather than after reading the rest
                }
                inFlight.Add(StageBlockAsync(blob, blockId, buffer, read, cancellationToken)); // returns the buffer
                if (read < _blockSize) break;
            }
            await Task.WhenAll(inFlight);
        }
        catch
        {
            // Let the other blocks finish (they own pooled buffers) before reporting; uncommitted blocks expire.
            try { await Task.WhenAll(inFlight); } catch { /* the first failure is the one reported */ }
            throw;
        }

        string sha256 = Convert.ToHexStringLower(sha.GetHashAndReset());
        var committed = await blob.CommitBlockListAsync(blockIds, new CommitBlockListOptions
        {
            Metadata = new Dictionary<string, string> { [Sha256Metadata] = sha256 },
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        }, cancellationToken);
        return new ArtifactInfo(key, length, sha256, committed.Value.LastModified);
    }

    private static async Task StageBlockAsync(BlockBlobClient blob, string blockId, byte[] buffer, int count,
        CancellationToken cancellationToken)
    {
        try
        {
            using var block = new MemoryStream(buffer, 0, count, writable: false);
            await blob.StageBlockAsync(blockId, block, new BlockBlobStageBlockOptions { TransferValidation = BlockValidation },
                cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        try
        {
            // allowModifications: false pins the stream to the version it opened (a later overwrite fails the read).
            return await _container.GetBlobClient(key).OpenReadAsync(
                new BlobOpenReadOptions(allowModifications: false) { BufferSize = ReadBufferSize, TransferValidation = ReadValidation },
                cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ArtifactNotFoundException(key);
        }
    }

    protected override async Task<(Stream Content, ArtifactInfo Recorded)> OpenForDownloadAsync(string key,
        CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(key);
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            // Every range read is conditioned on the ETag the recorded hash belongs to: an overwrite mid-download fails
            // it (412) instead of mixing versions.
            var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: true)
            {
                BufferSize = ReadBufferSize,
                TransferValidation = ReadValidation,
                Conditions = new BlobRequestConditions { IfMatch = properties.ETag },
            }, cancellationToken);
            return (stream, ToInfo(key, properties.ContentLength, properties.Metadata, properties.LastModified));
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ArtifactNotFoundException(key);
        }
    }

    public override async Task<ArtifactInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        try
        {
            var properties = (await _container.GetBlobClient(key).GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            return ToInfo(key, properties.ContentLength, properties.Metadata, properties.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public override async IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        // A missing container lists nothing; creating it here avoids a 404 that cannot be caught around a yield.
        await EnsureContainerAsync(cancellationToken);
        var options = new GetBlobsOptions { Traits = BlobTraits.Metadata, Prefix = prefix.Length == 0 ? null : prefix };
        // The service lists in lexicographic order of names, which is ordinal order for the keys the store accepts.
        await foreach (var item in _container.GetBlobsAsync(options, cancellationToken))
        {
            var p = item.Properties;
            yield return ToInfo(item.Name, p.ContentLength ?? 0, item.Metadata, p.LastModified ?? DateTimeOffset.MinValue);
        }
    }

    public override async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        try
        {
            var response = await _container.GetBlobClient(key)
                .DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken);
            return response.Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false; // the container itself is missing
        }
    }

    public override async Task<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        if (prefix.Length == 0) throw new ArgumentException("the prefix must not be empty (that would delete every artifact)", nameof(prefix));
        var keys = new List<string>();
        await foreach (var info in ListAsync(prefix, cancellationToken)) keys.Add(info.Key);
        int deleted = 0;
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (key, ct) =>
            {
                if (await DeleteAsync(key, ct)) Interlocked.Increment(ref deleted);
            });
        return deleted;
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerExists) return;
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        _containerExists = true;
    }

    private static ArtifactInfo ToInfo(string key, long length, IDictionary<string, string>? metadata, DateTimeOffset lastModified) =>
        new(key, length, metadata is not null && metadata.TryGetValue(Sha256Metadata, out var sha256) ? sha256 : "", lastModified);
}
