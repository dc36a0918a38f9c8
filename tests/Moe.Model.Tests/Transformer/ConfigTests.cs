using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

public class ConfigTests
{
    /// <summary>Every field set, none to its default.</summary>
    const string FullJson = """
        {
          // comments and trailing commas are allowed
          "_comment": "every field",
          "name": "full",
          "vocab_size": 1000, "d_model": 64, "n_layers": 6, "n_heads": 8, "n_kv_heads": 2, "max_seq_len": 128,
          "ffn_hidden": 176, "rope_theta": 500000, "sliding_window": 32, "tie_embeddings": false,
          "norm_eps": 1e-5, "init_std": 0.01,
          "moe": {
            "num_experts": 16, "top_k": 3, "expert_hidden": 40, "num_shared_experts": 2, "shared_expert_hidden": 48,
            "every": 2, "first_dense_blocks": 1,
            "router": { "score": "sigmoid", "gating": "noisy_top_k", "normalize_top_k": false },
            "capacity": { "train_factor": 1.5, "eval_factor": 3.0, "dropless": true, "drop_policy": "probability" },
            "balance": { "switch_weight": 0.01, "importance_weight": 0.02, "z_loss_weight": 0.001, "group_weight": 0.05,
                         "groups": 4, "aux_free": true, "aux_free_gamma": 0.002 },
          },
          "mtp": { "depth": 3, "weight": 0.1 },
        }
        """;

    static readonly ModelConfig Full = new()
    {
        Comment = "every field", Name = "full", VocabSize = 1000, DModel = 64, NLayers = 6, NHeads = 8, NKvHeads = 2, MaxSeqLen = 128,
        FfnHidden = 176, RopeTheta = 500000, SlidingWindow = 32, TieEmbeddings = false, NormEps = 1e-5, InitStd = 0.01,
        Moe = new MoeConfig
        {
            NumExperts = 16, TopK = 3, ExpertHidden = 40, NumSharedExperts = 2, SharedExpertHidden = 48, Every = 2, FirstDenseBlocks = 1,
            Router = new RouterConfig { Score = RouterScore.Sigmoid, Gating = Gating.NoisyTopK, NormalizeTopK = false },
            Capacity = new CapacityConfig { TrainFactor = 1.5, EvalFactor = 3.0, Dropless = true, DropPolicy = DropPolicy.Probability },
            Balance = new BalanceConfig
            {
                SwitchWeight = 0.01, ImportanceWeight = 0.02, ZLossWeight = 0.001, GroupWeight = 0.05, Groups = 4, AuxFree = true, AuxFreeGamma = 0.002,
            },
        },
        Mtp = new MtpConfig { Depth = 3, Weight = 0.1 },
    };

    [Fact]
    public void ParsesEveryFieldFromSnakeCaseJson()
    {
        var c = ConfigLoader.Parse(FullJson);
        Assert.Equal(Full, c);
        // Spot checks that do not lean on record equality.
        Assert.Equal(64, c.DModel);
        Assert.Equal(2, c.KvHeads);
        Assert.Equal(8, c.HeadDim);
        Assert.Equal(Gating.NoisyTopK, c.Moe!.Router.Gating);
        Assert.Equal(0.001, c.Moe.Balance.ZLossWeight);
        Assert.Equal(48, c.Moe.SharedHidden);
        Assert.Equal(3, c.Mtp!.Depth);
    }

    [Fact]
    public void MissingFieldsTakeTheirDefaults()
    {
        var c = ConfigLoader.Parse("""{ "moe": {} }""");
        Assert.Equal(new ModelConfig { Moe = new MoeConfig() }, c);
        Assert.Null(c.NKvHeads);
        Assert.Equal(c.NHeads, c.KvHeads);
        Assert.Null(c.SlidingWindow);
        Assert.Null(c.Mtp);
        Assert.Equal(c.Moe!.ExpertHidden, c.Moe.SharedHidden);
    }

    [Theory]
    [InlineData("""{ "d_modle": 8 }""", "d_modle")]
    [InlineData("""{ "moe": { "topk": 2 } }""", "topk")]
    [InlineData("""{ "moe": { "router": { "noise": 1 } } }""", "noise")]
    public void UnknownFieldIsRejectedByName(string json, string field)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void OverridesAssignDottedPaths()
    {
        var c = ConfigLoader.Parse(FullJson, ["moe.top_k=4", "sliding_window=null", "name=renamed", "moe.router.gating=top_k", "n_kv_heads=4"]);
        Assert.Equal(4, c.Moe!.TopK);
        Assert.Null(c.SlidingWindow);
        Assert.Equal("renamed", c.Name);          // not JSON, so taken as a string
        Assert.Equal(Gating.TopK, c.Moe.Router.Gating);
        Assert.Equal(4, c.NKvHeads);
        // Everything else is untouched.
        Assert.Equal(Full with
        {
            Name = "renamed", SlidingWindow = null, NKvHeads = 4,
            Moe = Full.Moe! with { TopK = 4, Router = Full.Moe.Router with { Gating = Gating.TopK } },
        }, c);

        // An override may create a missing section; unset fields keep their defaults.
        var m = ConfigLoader.Parse("{}", ["mtp.depth=2"]);
        Assert.Equal(new MtpConfig { Depth = 2, Weight = 0.3 }, m.Mtp);
        // Overrides are validated like the file.
        Assert.Equal("moe.top_k", Assert.Throws<ConfigException>(() => ConfigLoader.Parse(FullJson, ["moe.top_k=17"])).Field);
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(FullJson, ["moe.top_k"]));
    }

    [Theory]
    [InlineData("moe.top_k=5", "moe.top_k")]                               // 5 > 4 experts
    [InlineData("moe.top_k=0", "moe.top_k")]
    [InlineData("n_heads=3", "n_heads")]                                   // 3 does not divide 16
    [InlineData("n_kv_heads=3", "n_kv_heads")]                             // 3 does not divide 4 heads
    [InlineData("n_kv_heads=0", "n_kv_heads")]
    [InlineData("moe.capacity.train_factor=0", "moe.capacity.train_factor")]
    [InlineData("moe.capacity.eval_factor=-1", "moe.capacity.eval_factor")]
    [InlineData("moe.balance.switch_weight=-0.1", "moe.balance.switch_weight")]
    [InlineData("moe.balance.importance_weight=-1", "moe.balance.importance_weight")]
    [InlineData("moe.balance.z_loss_weight=-1e-3", "moe.balance.z_loss_weight")]
    [InlineData("moe.balance.group_weight=-1", "moe.balance.group_weight")]
    [InlineData("moe.balance.aux_free_gamma=-1", "moe.balance.aux_free_gamma")]
    [InlineData("moe.balance.groups=3", "moe.balance.groups")]            // 3 does not divide 4 experts
    [InlineData("mtp.depth=0", "mtp.depth")]
    [InlineData("mtp.depth=32", "mtp.depth")]                              // not below max_seq_len 32
    [InlineData("mtp.weight=-0.5", "mtp.weight")]
    [InlineData("sliding_window=0", "sliding_window")]
    [InlineData("d_model=0", "d_model")]
    [InlineData("moe.every=0", "moe.every")]
    [InlineData("d_model=\"wide\"", "d_model")]                           // wrong JSON type
    public void BadConfigurationNamesTheField(string assignment, string field)
    {
        var e = Assert.Throws<ConfigException>(() => Tiny(assignment));
        Assert.Equal(field, e.Field);
        Assert.StartsWith(field + ": ", e.Message);
    }

    [Theory]
    [InlineData("moe.router.score=tanh", "moe.router.score", new[] { "softmax", "sigmoid" })]
    [InlineData("moe.router.gating=expert_choice", "moe.router.gating", new[] { "top_k", "noisy_top_k", "soft" })]
    [InlineData("moe.capacity.drop_policy=random", "moe.capacity.drop_policy", new[] { "position", "probability" })]
    public void UnknownEnumValueListsTheAcceptedOnes(string assignment, string field, string[] accepted)
    {
        var e = Assert.Throws<ConfigException>(() => Tiny(assignment));
        Assert.Equal(field, e.Field);
        var value = assignment[(assignment.IndexOf('=') + 1)..];
        Assert.Contains(value, e.Message);
        foreach (var name in accepted) Assert.Contains(name, e.Message);
    }

    [Fact]
    public void SeveralProblemsAreReportedTogether()
    {
        var errors = ConfigValidator.Validate(Tiny() with { NHeads = 3, NKvHeads = null, Moe = Tiny().Moe! with { TopK = 9 } });
        Assert.Equal(new[] { "n_heads", "moe.top_k" }, errors.Select(e => e.Field).ToArray());
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.ThrowIfInvalid(Tiny() with { NHeads = 3, NKvHeads = null, Moe = Tiny().Moe! with { TopK = 9 } }));
        Assert.Equal("n_heads", e.Field);
        Assert.Contains("moe.top_k", e.Message);
    }

    [Fact]
    public void MissingFileIsAConfigException()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-config-{Guid.NewGuid():N}.json");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile(path));
        Assert.Equal("config", e.Field);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void LoadFileReadsAndOverrides()
    {
        var path = Path.Combine(Path.GetTempPath(), $"config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, FullJson);
        try
        {
            Assert.Equal(Full, ConfigLoader.LoadFile(path));
            Assert.Equal(5, ConfigLoader.LoadFile(path, ["moe.top_k=5"]).Moe!.TopK);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void InvalidJsonIsAConfigException()
    {
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse("{ \"d_model\": "));
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[1, 2]"));
    }

    [Fact]
    public void SerializeThenParseRoundTrips()
    {
        foreach (var c in new[] { Full, Tiny(), new ModelConfig(), Full with { Moe = null, Mtp = null, NKvHeads = null, SlidingWindow = null } })
        {
            var json = ConfigLoader.Serialize(c);
            Assert.Equal(c, ConfigLoader.Parse(json));
        }
        // The written names are the snake_case ones a user types.
        var text = ConfigLoader.Serialize(Full);
        foreach (var name in new[] { "\"d_model\"", "\"n_kv_heads\"", "\"top_k\"", "\"z_loss_weight\"", "\"noisy_top_k\"", "\"normalize_top_k\"", "\"_comment\"" })
            Assert.Contains(name, text);
        Assert.DoesNotContain("\"head_dim\"", text); // computed properties are not written
    }
}
