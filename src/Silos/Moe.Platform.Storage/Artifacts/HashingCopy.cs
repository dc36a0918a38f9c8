using System.Buffers;
using System.Security.Cryptography;

namespace Moe.Platform.Storage.Artifacts;

/// <summary>Copies a stream while computing the SHA-256 of what passed through, so large files are read only once.</summary>
internal static class HashingCopy
{
    private const int BufferSize = 1 << 20;

    /// <summary>Copies <paramref name="source"/> to its end into <paramref name="destination"/>; returns the byte
    /// count and the lowercase hex SHA-256.</summary>
    public static async Task<(long Length, string Sha256)> CopyAsync(Stream source, Stream destination,
        CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long length = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                length += read;
            }
            return (length, Convert.ToHexStringLower(sha.GetHashAndReset()));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
