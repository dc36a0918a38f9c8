using System.Text;
using Moe.Model.Checkpoints;

namespace Moe.Model.Tests.Checkpoints;

/// <summary>The project's safetensors reader/writer and model weight files.</summary>
public sealed class SafeTensorsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("moe-safetensors-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string PathOf(string name) => Path.Combine(dir, name);

    /// <summary>Same dtype, same shape, bit-for-bit the same values.</summary>
    static bool Same(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && (a.NumberOfElements == 0 || a.eq(b).all().item<bool>());

    // ------------------------------------------------------------------ layout

    [Fact]
    public void FileLayoutMatchesTheFormatByteByByte()
    {
        var path = PathOf("tiny.safetensors");
        using (var a = tensor(new[] { 1.0f, -2.0f }))
        using (var b = tensor(new long[] { 7 }))
        using (var c = tensor(1.5f).to(ScalarType.BFloat16))
            SafeTensors.Save(path, [new("a", a), new("b", b), new("c", c)], new Dictionary<string, string> { ["k"] = "v" });

        // The JSON is 188 bytes, padded with 4 spaces to 192 = 0xC0; the data section is 8 + 8 + 2 = 18 bytes.
        const string json =
            "{\"__metadata__\":{\"k\":\"v\"}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
            "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}," +
            "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[16,18]}}";
        Assert.Equal(188, json.Length);
        byte[] expected =
        [
            0xC0, 0, 0, 0, 0, 0, 0, 0,                     // header length 192, u64 little-endian
            .. Encoding.ASCII.GetBytes(json),
            0x20, 0x20, 0x20, 0x20,                        // padding to a multiple of 8
            0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, // a = [1.0f, -2.0f]
            0x07, 0, 0, 0, 0, 0, 0, 0,                     // b = [7L]
            0xC0, 0x3F,                                     // c = bf16 1.5 (0x3FC0)
        ];
        Assert.Equal(218, expected.Length);
        Assert.Equal(expected, File.ReadAllBytes(path));

        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        Assert.Equal("v", metadata["k"]);
        Assert.Equal(["a", "b", "c"], tensors.Keys);
        Assert.Equal([1.0f, -2.0f], tensors["a"].data<float>().ToArray());
        Assert.Equal([7L], tensors["b"].data<long>().ToArray());
        Assert.Equal(ScalarType.BFloat16, tensors["c"].dtype);
        Assert.Empty(tensors["c"].shape);
        Assert.Equal(1.5f, tensors["c"].to(ScalarType.Float32).item<float>());
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void EveryDTypeRoundTrips()
    {
        using var scope = NewDisposeScope();
        var path = PathOf("dtypes.safetensors");
        var source = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 5),
            ["f16"] = randn(2, 3).to(ScalarType.Float16),
            ["bf16"] = randn(4).to(ScalarType.BFloat16),
            ["i64"] = tensor(new long[] { long.MinValue, -1, 0, long.MaxValue }).view(2, 2),
            ["i32"] = tensor(new[] { int.MinValue, 5, int.MaxValue }),
            ["u8"] = tensor(new byte[] { 0, 128, 255 }),
            ["bool"] = tensor(new[] { true, false, true }),
            ["empty"] = zeros(0, 7),
            ["strided"] = arange(12, dtype: ScalarType.Float32).view(3, 4).t(), // not contiguous
        };
        SafeTensors.Save(path, source);

        var header = SafeTensors.ReadHeader(path);
        Assert.Equal(source.Keys, header.Tensors.Select(t => t.Name));
        Assert.Equal(["F32", "F16", "BF16", "I64", "I32", "U8", "BOOL", "F32", "F32"], header.Tensors.Select(t => t.DType));
        Assert.Equal(0, header.DataStart % 8);

        var loaded = SafeTensors.Load(path);
        foreach (var (name, expected) in source)
        {
            Assert.Equal(expected.dtype, loaded[name].dtype);
            Assert.Equal(expected.shape, loaded[name].shape);
            Assert.True(Same(expected, loaded[name]), $"{name} differs after the round trip");
        }
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void SavingReplacesAnExistingFileWithoutLeavingTemporaries()
    {
        var path = PathOf("w.safetensors");
        File.WriteAllText(path, "old");
        using (var t = ones(2)) SafeTensors.Save(path, [new("x", t)]);
        using (var t = full(3, 4.0f)) SafeTensors.Save(path, [new("y", t)]);
        var loaded = SafeTensors.Load(path);
        Assert.Equal(["y"], loaded.Keys);
        Assert.Equal([4f, 4f, 4f], loaded["y"].data<float>().ToArray());
        Assert.Equal(["w.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }

    // ------------------------------------------------------------------ refusals

    static byte[] Craft(string json, int dataBytes, ulong? lengthField = null)
    {
        var padded = (Encoding.UTF8.GetByteCount(json) + 7) / 8 * 8;
        var header = Encoding.UTF8.GetBytes(json.PadRight(padded));
        return [.. BitConverter.GetBytes(lengthField ?? (ulong)header.Length), .. header, .. new byte[dataBytes]];
    }

    InvalidDataException Refused(byte[] file, string name = "bad.safetensors")
    {
        var path = PathOf(name);
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message);
        return e;
    }

    const string Good = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";

    [Fact]
    public void AWellFormedCraftedFileIsAccepted()
    {
        var path = PathOf("good.safetensors");
        File.WriteAllBytes(path, Craft(Good, 16));
        var loaded = SafeTensors.Load(path);
        Assert.Equal([2L, 2L], loaded["w"].shape);
    }

    [Fact]
    public void TruncatedFilesAreRefused()
    {
        var path = PathOf("model.safetensors");
        using (var t = randn(4, 4)) SafeTensors.Save(path, [new("blocks.0.attn.wq.weight", t)]);
        var bytes = File.ReadAllBytes(path);

        // Cut inside the data: the tensor that runs past the end is named.
        var e = Refused(bytes[..^3]);
        Assert.Contains("blocks.0.attn.wq.weight", e.Message);
        // Cut inside the header, and inside the length field.
        Assert.Contains("header length", Refused(bytes[..40]).Message);
        Assert.Contains("too short", Refused(bytes[..5]).Message);
    }

    [Fact]
    public void CorruptedHeadersAreRefused()
    {
        Assert.Contains("not valid JSON", Refused(Craft("{\"w\":{\"dtype\":\"F32\",", 16)).Message);
        Assert.Contains("header length", Refused(Craft(Good, 16, lengthField: ulong.MaxValue)).Message);
        Assert.Contains("not a JSON object", Refused(Craft("[1,2]", 0)).Message);

        var wrongSize = Refused(Craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16));
        Assert.Contains("'w'", wrongSize.Message);
        Assert.Contains("needs 24 bytes", wrongSize.Message);

        var dtype = Refused(Craft("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16));
        Assert.Contains("'w'", dtype.Message);
        Assert.Contains("F64", dtype.Message);

        var duplicate = Refused(Craft(
            "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2));
        Assert.Contains("'w' appears twice", duplicate.Message);

        var gap = Refused(Craft(
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}", 3));
        Assert.Contains("'b'", gap.Message);
        Assert.Contains("gap", gap.Message);

        var overlap = Refused(Craft(
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3));
        Assert.Contains("'b'", overlap.Message);
        Assert.Contains("overlap", overlap.Message);

        Assert.Contains("data section holds 20", Refused(Craft(Good, 20)).Message);
        Assert.Contains("shape", Refused(Craft("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16)).Message);
        Assert.Contains("__metadata__", Refused(Craft("{\"__metadata__\":{\"k\":1}," + Good[1..], 16)).Message);
    }

    // ------------------------------------------------------------------ model weights

    static ModelConfig TinyConfig(int dModel = 32, int layers = 2) => new()
    {
        Name = "tiny",
        VocabSize = 64,
        DModel = dModel,
        NLayers = layers,
        NHeads = 4,
        NKvHeads = 2,
        MaxSeqLen = 16,
        FfnHidden = 48,
        TieEmbeddings = false,
        Moe = new MoeConfig
        {
            NumExperts = 4, TopK = 2, ExpertHidden = 16, NumSharedExperts = 1, FirstDenseBlocks = 1,
            Router = new RouterConfig { Score = RouterScore.Sigmoid },
            Balance = new BalanceConfig { AuxFree = true, SwitchWeight = 0.01 },
        },
        Mtp = new MtpConfig { Depth = 1 },
    };

    static MoeTransformer Build(ModelConfig c, long seed)
    {
        manual_seed(seed);
        return new MoeTransformer(c);
    }

    [Fact]
    public void ModelWeightsRoundTripGivesIdenticalLogits()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        var path = PathOf("weights.safetensors");
        using var source = Build(config, 1);
        // A non-zero aux-free bias shows that persistent buffers travel too.
        var biasStats = new List<RouterStats> { new(1, [9, 1, 1, 1], 0, 0, 0, 0, 0, 0, 0, null) };
        source.UpdateAuxFreeBiases(biasStats);
        ModelWeights.Save(source, path, new Dictionary<string, string> { ["config"] = ConfigLoader.Serialize(config) });

        var names = SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name).ToList();
        Assert.Contains("tok_embeddings.weight", names);
        Assert.Contains("blocks.0.attn.wq.weight", names);
        Assert.Contains("blocks.0.ffn.gate_up.weight", names);
        Assert.Contains("blocks.1.moe.router.weight", names);
        Assert.Contains("blocks.1.moe.router.expert_bias", names);
        Assert.Contains("blocks.1.moe.experts.gate_up", names);
        Assert.Contains("blocks.1.moe.shared_experts.experts.down.weight", names);
        Assert.Contains("output.weight", names);
        Assert.Contains("mtp.0.proj.weight", names);
        Assert.Equal(source.state_dict().Keys, names);

        using var target = Build(config, 2);
        var tokens = randint(config.VocabSize, [2, 12]);
        source.eval();
        target.eval();
        Assert.False(Same(source.forward(tokens), target.forward(tokens)));

        var metadata = ModelWeights.Load(target, path);
        Assert.Equal(ConfigLoader.Serialize(config), metadata["config"]);
        Assert.True(Same(source.forward(tokens), target.forward(tokens)), "logits differ after loading the weights");
        foreach (var (name, t) in target.state_dict())
            Assert.True(Same(t, source.state_dict()[name]), name);
    }

    [Fact]
    public void ModelWeightsRefuseAnotherArchitecture()
    {
        var path = PathOf("weights.safetensors");
        using (var source = Build(TinyConfig(), 1)) ModelWeights.Save(source, path);

        using var wider = Build(TinyConfig(dModel: 48), 1);
        var shape = Assert.Throws<InvalidDataException>(() => ModelWeights.Load(wider, path));
        Assert.Contains("tok_embeddings.weight", shape.Message);
        Assert.Contains("shape", shape.Message);

        using var deeper = Build(TinyConfig(layers: 3), 1);
        var missing = Assert.Throws<InvalidDataException>(() => ModelWeights.Load(deeper, path));
        Assert.Contains("missing blocks.2.", missing.Message);

        using var shallower = Build(TinyConfig(layers: 1) with { Moe = TinyConfig().Moe! with { FirstDenseBlocks = 0 } }, 1);
        var unexpected = Assert.Throws<InvalidDataException>(() => ModelWeights.Load(shallower, path));
        Assert.Contains("unexpected ", unexpected.Message);
        Assert.Contains("blocks.1.attn.wq.weight", unexpected.Message);
    }

    [Fact]
    public void Bf16ModelLoadsFp32WeightsAndSavesBf16()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        var path = PathOf("weights.safetensors");
        using var source = Build(config, 1);
        ModelWeights.Save(source, path);

        using var target = Build(config, 2).ToComputeDtype(ScalarType.BFloat16);
        ModelWeights.Load(target, path);
        var expected = source.state_dict()["blocks.0.attn.wq.weight"].to(ScalarType.BFloat16);
        Assert.True(Same(expected, target.state_dict()["blocks.0.attn.wq.weight"]));

        var bf16Path = PathOf("bf16.safetensors");
        ModelWeights.Save(target, bf16Path);
        var header = SafeTensors.ReadHeader(bf16Path);
        Assert.Equal("BF16", header.Find("blocks.0.attn.wq.weight")!.DType);
        Assert.Equal("F32", header.Find("blocks.1.moe.router.weight")!.DType); // the router stays fp32
    }
}
