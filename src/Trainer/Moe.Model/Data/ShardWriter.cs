using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Moe.Model.Data;

/// <summary>Streams token ids into numbered shard files, hashing as it goes.</summary>
internal sealed class ShardWriter(string dir, string prefix, string dtype, long shardTokens) : IDisposable
{
    const int ChunkTokens = 1 << 16;
    readonly int size = dtype == DatasetManifest.UInt16 ? 2 : 4;
    readonly byte[] buffer = new byte[ChunkTokens * (dtype == DatasetManifest.UInt16 ? 2 : 4)];
    readonly List<ShardInfo> shards = [];
    FileStream? stream;
    IncrementalHash? hash;
    string name = "";
    long inShard, total;
    public long Documents { get; set; }

    public void Add(ReadOnlySpan<int> ids)
    {
        while (ids.Length > 0)
        {
            if (stream is null) Open();
            var n = (int)Math.Min(Math.Min(ids.Length, shardTokens - inShard), ChunkTokens);
            for (var i = 0; i < n; i++)
                if (size == 2) BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(i * 2), (ushort)ids[i]);
                else BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(i * 4), (uint)ids[i]);
            stream!.Write(buffer, 0, n * size);
            hash!.AppendData(buffer, 0, n * size);
            inShard += n;
            total += n;
            ids = ids[n..];
            if (inShard == shardTokens) Close();
        }
    }

    void Open()
    {
        name = $"{prefix}-{shards.Count:D5}.bin";
        stream = new FileStream(Path.Combine(dir, name), FileMode.CreateNew, FileAccess.Write, FileShare.None);
        hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        inShard = 0;
    }

    void Close()
    {
        stream!.Flush(flushToDisk: true);
        stream.Dispose();
        shards.Add(new ShardInfo(name, inShard, Convert.ToHexStringLower(hash!.GetHashAndReset())));
        hash.Dispose();
        stream = null;
        hash = null;
    }

    public SplitInfo Finish()
    {
        if (stream is not null) Close();
        return new SplitInfo(Documents, total, shards.ToArray());
    }

    public void Dispose()
    {
        stream?.Dispose();
        hash?.Dispose();
    }
}
