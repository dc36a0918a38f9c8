using Moe.Model.IO;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Moe.Model.Data;

/// <summary>
/// A tokenised dataset on disk: a folder of binary shards (<c>train-00000.bin</c>, <c>validation-00000.bin</c>, ...) holding
/// raw little-endian uint16 or uint32 token ids, and <c>manifest.json</c> with their SHA-256 hashes. The folder is built
/// under a temporary name and renamed into place, so a failed preparation leaves nothing behind.
/// </summary>
public static class TokenDataset
{
    public static DatasetManifest Prepare(IReadOnlyList<string> sources, ITokenEncoder encoder, string outputDir, PrepareOptions? options = null)
    {
        options ??= new PrepareOptions();
        if (sources.Count == 0) throw new ArgumentException("no source files given", nameof(sources));
        if (options.ValidationFraction is < 0 or >= 1 || double.IsNaN(options.ValidationFraction))
            throw new ArgumentOutOfRangeException(nameof(options), $"validation fraction {options.ValidationFraction} is not in [0, 1)");
        if (options.ShardTokens < 1) throw new ArgumentOutOfRangeException(nameof(options), "shard size must be at least one token");
        var vocab = encoder.VocabSize;
        if (vocab < 1) throw new ArgumentException($"encoder vocabulary size {vocab} is not positive", nameof(encoder));
        if (options.DocumentSeparator is { } sep && (sep < 0 || sep >= vocab))
            throw new ArgumentOutOfRangeException(nameof(options), $"document separator {sep} is outside the vocabulary [0, {vocab})");

        var output = Path.GetFullPath(outputDir);
        if (Directory.Exists(output) && !options.Overwrite) throw new IOException($"{output} already exists (pass Overwrite to replace it)");

        // Read every source first: format errors surface before anything is written.
        var docs = new List<SourceDocument>();
        var keys = new List<string>();
        var infos = new List<SourceInfo>();
        foreach (var source in sources)
        {
            if (!File.Exists(source)) throw new DataException(source, 0, "file not found");
            var read = DocumentReader.Read(source);
            // Keyed by file name and position, not the path as given: the split survives moving the sources.
            for (var i = 0; i < read.Count; i++) keys.Add($"{Path.GetFileName(source)}#{i}");
            docs.AddRange(read);
            infos.Add(new SourceInfo(source, Sha256Hex(File.ReadAllBytes(source)), new FileInfo(source).Length, read.Count));
        }
        var validation = ValidationMask(keys, options.Seed, options.ValidationFraction);

        var dtype = DatasetManifest.DTypeFor(vocab);
        var parent = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(output)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            using var train = new ShardWriter(temp, "train", dtype, options.ShardTokens);
            using var valid = new ShardWriter(temp, "validation", dtype, options.ShardTokens);
            for (var d = 0; d < docs.Count; d++)
            {
                var doc = docs[d];
                var ids = encoder.Encode(doc.Text);
                foreach (var id in ids)
                    if (id < 0 || id >= vocab)
                        throw new DataException(doc.File, doc.Line, $"token id {id} is outside the vocabulary [0, {vocab})");
                var writer = validation[d] ? valid : train;
                writer.Add(ids);
                if (options.DocumentSeparator is { } s) writer.Add([s]);
                writer.Documents++;
            }
            var trainSplit = train.Finish();
            var validSplit = valid.Finish();
            var manifest = new DatasetManifest(DatasetManifest.CurrentFormat, options.Clock.GetUtcNow(), dtype, vocab, encoder.VocabularyHash,
                DatasetManifest.ContentHashOf(trainSplit, validSplit), trainSplit.Tokens + validSplit.Tokens, options.DocumentSeparator, options.Seed, options.ValidationFraction, infos, trainSplit, validSplit);
            AtomicFile.WriteAllText(Path.Combine(temp, DatasetManifest.FileName), manifest.ToJson());
            MoveIntoPlace(temp, output, options.Overwrite);
            return manifest;
        }
        catch
        {
            TryDeleteDirectory(temp);
            throw;
        }
    }

    /// <summary>
    /// Which documents are held out: each document's key is hashed with the seed, and the <paramref name="fraction"/> of
    /// documents with the smallest hashes (at least one when the fraction is positive, never all) go to validation.
    /// </summary>
    public static bool[] ValidationMask(IReadOnlyList<string> keys, long seed, double fraction)
    {
        var mask = new bool[keys.Count];
        if (fraction <= 0 || keys.Count < 2) return mask;
        var count = Math.Clamp((int)Math.Round(fraction * keys.Count), 1, keys.Count - 1);
        var order = Enumerable.Range(0, keys.Count)
            .Select(i => (Hash: BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}\0{keys[i]}"))), Index: i))
            .OrderBy(p => p.Hash).ThenBy(p => p.Index);
        foreach (var (_, index) in order.Take(count)) mask[index] = true;
        return mask;
    }

    public static DatasetManifest ReadManifest(string dir)
    {
        var path = Path.Combine(dir, DatasetManifest.FileName);
        return DatasetManifest.FromJson(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Rehashes every shard and checks its length and the token counts against the manifest; throws
    /// <see cref="InvalidDataException"/> naming the shard on any mismatch (a flipped byte, a truncated or missing file).
    /// </summary>
    public static DatasetManifest Verify(string dir)
    {
        var m = ReadManifest(dir);
        foreach (var split in new[] { m.Train, m.Validation })
        {
            if (split.Shards.Sum(s => s.Tokens) != split.Tokens)
                throw new InvalidDataException($"{dir}: shard token counts do not add up to the split's {split.Tokens}");
            foreach (var shard in split.Shards)
            {
                var path = ShardPath(dir, shard);
                if (!File.Exists(path)) throw new InvalidDataException($"{path}: shard is missing");
                var bytes = File.ReadAllBytes(path);
                if (bytes.LongLength != shard.Tokens * m.BytesPerToken)
                    throw new InvalidDataException($"{path}: {bytes.LongLength} bytes, manifest says {shard.Tokens} {m.DType} tokens ({shard.Tokens * m.BytesPerToken} bytes)");
                if (Sha256Hex(bytes) != shard.Sha256) throw new InvalidDataException($"{path}: SHA-256 does not match the manifest");
            }
        }
        if (m.Train.Tokens + m.Validation.Tokens != m.TokenCount)
            throw new InvalidDataException($"{dir}: token count {m.TokenCount} is not train + validation ({m.Train.Tokens} + {m.Validation.Tokens})");
        return m;
    }

    /// <summary>All tokens of one split, shards concatenated in order (lengths checked; use <see cref="Verify"/> for hashes).</summary>
    public static int[] ReadTokens(string dir, DatasetSplit split)
    {
        var m = ReadManifest(dir);
        var info = m.Split(split);
        var tokens = new int[checked((int)info.Tokens)];
        var at = 0;
        foreach (var shard in info.Shards)
        {
            var path = ShardPath(dir, shard);
            var ids = ReadShard(path, m.DType);
            if (ids.Length != shard.Tokens || at + ids.Length > tokens.Length)
                throw new InvalidDataException($"{path}: {ids.Length} tokens, manifest says {shard.Tokens}");
            ids.CopyTo(tokens, at);
            at += ids.Length;
        }
        if (at != tokens.Length) throw new InvalidDataException($"{dir}: {split} shards hold {at} tokens, manifest says {tokens.Length}");
        return tokens;
    }

    /// <summary>A shard's path; the manifest may only name files inside the dataset folder.</summary>
    static string ShardPath(string dir, ShardInfo shard) =>
        shard.File.Length > 0 && Path.GetFileName(shard.File) == shard.File && shard.File is not ("." or "..")
            ? Path.Combine(dir, shard.File)
            : throw new InvalidDataException($"{dir}: manifest names shard '{shard.File}', which is not a file in the dataset folder");

    public static int[] ReadShard(string path, string dtype)
    {
        var bytes = File.ReadAllBytes(path);
        var size = dtype == DatasetManifest.UInt16 ? 2 : dtype == DatasetManifest.UInt32 ? 4 : throw new InvalidDataException($"dtype '{dtype}' is not uint16 or uint32");
        if (bytes.Length % size != 0) throw new InvalidDataException($"{path}: {bytes.Length} bytes is not a whole number of {dtype} tokens");
        var ids = new int[bytes.Length / size];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = size == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2)) : checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4)));
        return ids;
    }

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    static void MoveIntoPlace(string temp, string output, bool overwrite)
    {
        if (!Directory.Exists(output)) { Directory.Move(temp, output); return; }
        if (!overwrite) throw new IOException($"{output} already exists");
        var old = Path.Combine(Path.GetDirectoryName(output)!, $".{Path.GetFileName(output)}.old-{Guid.NewGuid():N}");
        Directory.Move(output, old);
        try { Directory.Move(temp, output); }
        catch
        {
            Directory.Move(old, output); // put the previous dataset back rather than leave none
            throw;
        }
        TryDeleteDirectory(old);
    }

    static void TryDeleteDirectory(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
