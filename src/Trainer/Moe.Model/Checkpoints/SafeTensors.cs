using Moe.Model.IO;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Model.Checkpoints;

/// <summary>One tensor as the safetensors header describes it.</summary>
/// <param name="DType">Header spelling: F32, F16, BF16, I64, I32, U8 or BOOL.</param>
/// <param name="Begin">Offset of the first byte, relative to the start of the data section.</param>
/// <param name="End">Offset one past the last byte.</param>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>A parsed safetensors header: tensors in header order, free-form metadata, and where the data starts.</summary>
/// <param name="DataStart">File offset of the data section (8 + header length).</param>
public sealed record SafeTensorsHeader(string Path, IReadOnlyList<SafeTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata, long DataStart)
{
    public SafeTensorInfo? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);
}

/// <summary>
/// The safetensors format, read and written by this project: an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON <c>{name: {dtype, shape, data_offsets: [begin, end]}}</c> (plus an optional <c>__metadata__</c> string map)
/// padded with spaces to a multiple of 8, then the raw little-endian tensor bytes, packed in header order.
/// </summary>
public static class SafeTensors
{
    public const string MetadataKey = "__metadata__";
    /// <summary>Headers above this size are refused as corrupt (the reference implementation uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;
    // Tensor bytes move through spans, which index with int: copy big tensors in pieces.
    const long ChunkBytes = 1L << 30;

    static readonly (string Name, ScalarType Type, int Size)[] DTypes =
    [
        ("F32", ScalarType.Float32, 4), ("F16", ScalarType.Float16, 2), ("BF16", ScalarType.BFloat16, 2),
        ("I64", ScalarType.Int64, 8), ("I32", ScalarType.Int32, 4), ("U8", ScalarType.Byte, 1), ("BOOL", ScalarType.Bool, 1),
    ];

    static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    public static string DTypeName(ScalarType type) =>
        DTypes.FirstOrDefault(d => d.Type == type).Name ?? throw new NotSupportedException($"safetensors: dtype {type} is not supported");

    public static ScalarType ScalarTypeOf(string dtype) =>
        ElementSize(dtype) > 0 ? DTypes.First(d => d.Name == dtype).Type
            : throw new NotSupportedException($"safetensors: dtype '{dtype}' is not supported");

    /// <summary>Bytes per element, or 0 for a dtype this reader does not know.</summary>
    public static int ElementSize(string dtype) => DTypes.FirstOrDefault(d => d.Name == dtype).Size;

    // ---------------------------------------------------------------- header

    /// <summary>The complete header block: 8-byte length, then the JSON padded with spaces to a multiple of 8.</summary>
    /// <param name="tensors">Name, dtype, shape and byte length of each tensor, in the order their data will follow.</param>
    public static byte[] EncodeHeader(IEnumerable<(string Name, string DType, long[] Shape, long Bytes)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, WriterOptions))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, dtype, shape, bytes) in tensors)
            {
                if (name == MetadataKey || !seen.Add(name)) throw new ArgumentException($"safetensors: tensor name '{name}' is reserved or repeated");
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                foreach (var s in shape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        var padded = (json.Length + 7) / 8 * 8;
        var block = new byte[8 + padded];
        BitConverter.TryWriteBytes(block.AsSpan(0, 8), (ulong)padded);
        json.ToArray().CopyTo(block, 8);
        block.AsSpan(8 + (int)json.Length).Fill((byte)' ');
        return block;
    }

    public static SafeTensorsHeader ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads and validates the header of a seekable stream positioned anywhere; <paramref name="path"/> names it in errors.</summary>
    public static SafeTensorsHeader ReadHeader(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8) throw Bad(path, $"is {fileLength} bytes long, too short for the 8-byte header length");
        stream.Position = 0;
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BitConverter.ToUInt64(prefix);
        if (headerLength > (ulong)(fileLength - 8))
            throw Bad(path, $"header length {headerLength} exceeds the {fileLength - 8} bytes after the length field (truncated or not safetensors)");
        if (headerLength > MaxHeaderBytes) throw Bad(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerLength;
        return ParseHeader(json, fileLength - dataStart, dataStart, path);
    }

    static SafeTensorsHeader ParseHeader(byte[] json, long dataLength, long dataStart, string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw Bad(path, $"header is not valid JSON ({e.Message})"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "header is not a JSON object");

        var tensors = new List<SafeTensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            var name = property.Name;
            if (!names.Add(name)) throw Bad(path, $"tensor '{name}' appears twice in the header");
            if (name == MetadataKey)
            {
                if (property.Value.ValueKind != JsonValueKind.Object) throw Bad(path, $"{MetadataKey} must be an object of strings");
                foreach (var m in property.Value.EnumerateObject())
                {
                    if (m.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"{MetadataKey}.{m.Name} must be a string");
                    metadata[m.Name] = m.Value.GetString()!;
                }
                continue;
            }
            tensors.Add(ParseEntry(name, property.Value, path));
        }

        // The tensors must tile the data section exactly: no gap, no overlap, nothing left over.
        long expected = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin != expected)
                throw Bad(path, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] " +
                    (t.Begin < expected ? $"overlap the previous tensor, which ends at {expected}" : $"leave a gap after offset {expected}"));
            if (t.End > dataLength)
                throw Bad(path, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] run past the {dataLength}-byte data section (truncated file?)");
            expected = t.End;
        }
        if (expected != dataLength) throw Bad(path, $"the tensors cover {expected} bytes but the data section holds {dataLength}");
        return new SafeTensorsHeader(path, tensors, metadata, dataStart);
    }

    static SafeTensorInfo ParseEntry(string name, JsonElement e, string path)
    {
        InvalidDataException Entry(string problem) => Bad(path, $"tensor '{name}': {problem}");
        if (e.ValueKind != JsonValueKind.Object) throw Entry("entry is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Entry("dtype is missing");
        var dtype = dt.GetString()!;
        var size = ElementSize(dtype);
        if (size == 0) throw Entry($"dtype '{dtype}' is not supported (expected one of {string.Join(", ", DTypes.Select(d => d.Name))})");
        var shape = Longs(e, "shape", -1, Entry);
        var offsets = Longs(e, "data_offsets", 2, Entry);
        if (shape.Any(s => s < 0)) throw Entry($"shape [{string.Join(", ", shape)}] has a negative dimension");
        if (offsets[0] < 0 || offsets[1] < offsets[0]) throw Entry($"data_offsets [{offsets[0]}, {offsets[1]}] are not an increasing pair");
        long bytes;
        try { bytes = checked(shape.Aggregate(1L, (a, b) => a * b) * size); }
        catch (OverflowException) { throw Entry($"shape [{string.Join(", ", shape)}] is too large"); }
        if (bytes != offsets[1] - offsets[0])
            throw Entry($"{dtype} [{string.Join(", ", shape)}] needs {bytes} bytes but data_offsets [{offsets[0]}, {offsets[1]}] hold {offsets[1] - offsets[0]}");
        return new SafeTensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    static long[] Longs(JsonElement e, string field, int count, Func<string, InvalidDataException> error)
    {
        if (!e.TryGetProperty(field, out var a) || a.ValueKind != JsonValueKind.Array) throw error($"{field} is missing or not an array");
        var values = new List<long>();
        foreach (var v in a.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var x)) throw error($"{field} holds a non-integer");
            values.Add(x);
        }
        if (count >= 0 && values.Count != count) throw error($"{field} must have {count} entries (has {values.Count})");
        return values.ToArray();
    }

    static InvalidDataException Bad(string path, string problem) => new($"safetensors file '{path}': {problem}");

    // ---------------------------------------------------------------- tensors

    /// <summary>Writes the tensors (any device, any layout; copied to CPU one at a time) atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        EnsureLittleEndian();
        var list = tensors.ToList();
        var header = EncodeHeader(list.Select(p => (p.Key, DTypeName(p.Value.dtype), p.Value.shape, p.Value.NumberOfElements * p.Value.ElementSize)), metadata);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            foreach (var (_, tensor) in list)
            {
                using var scope = NewDisposeScope();
                var flat = tensor.detach().cpu().contiguous().reshape(-1);
                ForEachChunk(flat, span => stream.Write(span));
            }
        });
    }

    /// <summary>Every tensor of the file on <paramref name="device"/> (CPU when null), by name, in header order.</summary>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null) => LoadWithMetadata(path, device).Tensors;

    public static (Dictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) LoadWithMetadata(string path, Device? device = null)
    {
        using var stream = File.OpenRead(path);
        var header = ReadHeader(stream, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var info in header.Tensors) result[info.Name] = ReadTensor(stream, header, info, device);
        return (result, header.Metadata);
    }

    /// <summary>Reads one tensor described by <paramref name="info"/> from an open file.</summary>
    public static Tensor ReadTensor(Stream stream, SafeTensorsHeader header, SafeTensorInfo info, Device? device = null)
    {
        EnsureLittleEndian();
        var cpuTensor = empty(info.Shape, ScalarTypeOf(info.DType));
        stream.Position = header.DataStart + info.Begin;
        try
        {
            using (var flat = cpuTensor.reshape(-1)) ForEachChunk(flat, span => stream.ReadExactly(span));
        }
        catch (EndOfStreamException)
        {
            cpuTensor.Dispose();
            throw Bad(header.Path, $"tensor '{info.Name}': the file ends inside its data");
        }
        if (device is null || device.type == DeviceType.CPU) return cpuTensor;
        using (cpuTensor) return cpuTensor.to(device);
    }

    /// <summary>Hands each piece of a flat, contiguous CPU tensor's memory to <paramref name="action"/>.</summary>
    static void ForEachChunk(Tensor flat, SpanAction action)
    {
        long n = flat.NumberOfElements, per = Math.Max(1, ChunkBytes / flat.ElementSize);
        for (long start = 0; start < n; start += per)
        {
            using var part = flat.narrow(0, start, Math.Min(per, n - start));
            action(part.bytes);
        }
    }

    delegate void SpanAction(Span<byte> span);

    static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this host is not");
    }
}
