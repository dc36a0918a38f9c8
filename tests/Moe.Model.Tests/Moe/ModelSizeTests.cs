using static Moe.Model.Tests.MoeTestModels;

namespace Moe.Model.Tests;

/// <summary>ModelSize (worked out from the configuration alone) against the parameters a built model really has.</summary>
[Collection(Collection)]
public class MoeModelSizeTests
{
    public static readonly TheoryData<string, string[]> Configs = new()
    {
        { "tiny tied top-2", [] },
        { "untied GQA shared experts", ["tie_embeddings=false", "d_model=16", "n_heads=4", "n_kv_heads=2", "moe.num_shared_experts=2", "moe.shared_expert_hidden=4"] },
        { "shared expert default hidden", ["moe.num_shared_experts=1"] },
        { "noisy top-k, MTP 2, interleaved", ["n_layers=4", "moe.every=2", "moe.first_dense_blocks=1", "moe.router={\"gating\":\"noisy_top_k\"}", "mtp={\"depth\":2}"] },
        { "soft sigmoid, MTP on a dense last block", ["n_layers=3", "moe.every=2", "moe.router={\"gating\":\"soft\",\"score\":\"sigmoid\"}", "mtp={\"depth\":1}", "tie_embeddings=false"] },
        { "aux-free bias is a buffer, MTP MoE", ["moe.balance={\"aux_free\":true}", "mtp={\"depth\":1}", "moe.top_k=1", "n_kv_heads=1"] },
        { "first dense blocks", ["n_layers=3", "moe.first_dense_blocks=2", "ffn_hidden=12"] },
        { "dense model", ["moe=null"] },
    };

    [Theory, MemberData(nameof(Configs))]
    public void TotalsMatchTheBuiltModelsParameters(string name, string[] overrides)
    {
        using var scope = NewDisposeScope();
        var c = Tiny(overrides);
        using var model = new MoeTransformer(c);
        var size = ModelSize.Of(c);
        var parameters = model.named_parameters().ToList();
        var all = parameters.Sum(p => p.parameter.numel());
        var mtp = parameters.Where(p => p.name.StartsWith("mtp.")).Sum(p => p.parameter.numel());

        Assert.True(all == size.Total, $"{name}: model has {all} parameters, ModelSize.Total says {size.Total}");
        Assert.True(all - mtp == size.TotalInference, $"{name}: without MTP {all - mtp}, TotalInference {size.TotalInference}");
        Assert.Equal((long)c.VocabSize * c.DModel, size.Embedding);
        Assert.Equal(Param(model, "tok_embeddings.weight").numel(), size.Embedding);
        Assert.True(size.ActivePerToken <= size.TotalInference);
        if (c.Mtp is not null) Assert.True(mtp > 0, $"{name}: MTP config but no mtp.* parameters");
        // Only top-k gating leaves experts idle.
        var idle = c.Moe is { } m && m.Router.Gating != Gating.Soft && m.TopK < m.NumExperts;
        Assert.Equal(idle, size.ActivePerToken < size.TotalInference);
    }

    [Fact]
    public void ActivePerTokenMatchesHandCount()
    {
        // vocab 32, d 16, 2 blocks (block 0 dense with ffn_hidden 24, block 1 MoE), 4 heads of size 4, 2 KV heads,
        // untied head; MoE: 8 experts of hidden 6, top-2, one shared expert of hidden 10; MTP depth 1.
        var c = Tiny("vocab_size=32", "d_model=16", "n_layers=2", "n_heads=4", "n_kv_heads=2", "ffn_hidden=24",
            "tie_embeddings=false", "moe.num_experts=8", "moe.top_k=2", "moe.expert_hidden=6",
            "moe.num_shared_experts=1", "moe.shared_expert_hidden=10", "moe.first_dense_blocks=1", "mtp={\"depth\":1}");
        // embedding 32 x 16 = 512; untied head another 512
        // attention per block: wq 16x16 = 256, wk 16x8 = 128, wv 128, wo 256 -> 768; two RMSNorms 2 x 16 = 32
        // block 0 (dense): 768 + 32 + SwiGLU 3 x 16 x 24 = 1152 -> 1952
        // block 1 (MoE):   768 + 32 + router 8 x 16 = 128 + shared 3 x 16 x 10 = 480 + experts 8 x (3 x 16 x 6 = 288) = 2304 -> 3712
        //   active:        768 + 32 + 128 + 480 + 2 x 288 = 576 -> 1984
        // final norm 16
        // inference total = 512 + 1952 + 3712 + 16 + 512 = 6704
        // active per token = 512 + 1952 + 1984 + 16 + 512 = 4976
        // MTP module: a block like the last (MoE) one 3712 + 3 norms 48 + projection 2 x 16 x 16 = 512 -> 4272
        // total = 6704 + 4272 = 10976
        var size = ModelSize.Of(c);
        Assert.Equal(new ModelSize(10976, 6704, 4976, 512), size);

        using var scope = NewDisposeScope();
        using var model = new MoeTransformer(c);
        Assert.Equal(10976, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void TinyConfigHandCount()
    {
        // vocab 16, d 8, one MoE block, 2 heads, 4 experts of hidden 8, top-2, tied.
        // embedding 128; attention 4 x 8 x 8 = 256; norms 16; router 32; experts 4 x 192 = 768; final norm 8.
        // total = 128 + 256 + 16 + 32 + 768 + 8 = 1208; active = 1208 - 2 idle experts x 192 = 824
        Assert.Equal(new ModelSize(1208, 1208, 824, 128), ModelSize.Of(Tiny()));
    }
}
