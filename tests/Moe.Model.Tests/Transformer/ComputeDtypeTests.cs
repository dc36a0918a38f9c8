using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

public class ComputeDtypeTests
{
    // Noisy top-k (a second router parameter), aux-free bias (a router buffer), a shared expert, MTP, untied head:
    // every kind of tensor the model owns.
    static readonly string[] Everything =
    [
        "moe.router.gating=noisy_top_k", "moe.balance.aux_free=true", "moe.num_shared_experts=1",
        "mtp.depth=1", "tie_embeddings=false", "moe.every=2", "n_layers=3",
    ];

    [Fact]
    public void Bf16EverywhereExceptNormsAndRouters()
    {
        manual_seed(40);
        var model = new MoeTransformer(Tiny(Everything)).ToComputeDtype(ScalarType.BFloat16);

        // Names of the parameters and buffers owned by RMSNorm and Router modules.
        var fp32 = new HashSet<string>();
        foreach (var (name, module) in model.named_modules())
            if (module is RMSNorm or Router)
            {
                foreach (var (p, _) in module.named_parameters()) fp32.Add($"{name}.{p}");
                foreach (var (b, _) in module.named_buffers()) fp32.Add($"{name}.{b}");
            }
        // Expected fp32 parameters: 2 norms in each of the 3 blocks, the final norm, the MTP module's 3 norms and its block's 2,
        // and block 1's router (weight + noise_weight). The MTP block is built like the last block (2, dense): no router.
        Assert.Contains("final_norm.weight", fp32);
        Assert.Contains("blocks.0.attn_norm.weight", fp32);
        Assert.Contains("blocks.1.ffn_norm.weight", fp32);
        Assert.Contains("mtp.0.hidden_norm.weight", fp32);
        Assert.Contains("mtp.0.block.attn_norm.weight", fp32);
        Assert.Contains("blocks.1.moe.router.weight", fp32);
        Assert.Contains("blocks.1.moe.router.noise_weight", fp32);
        Assert.Contains("blocks.1.moe.router.expert_bias", fp32);

        var parameters = model.named_parameters().ToList();
        Assert.Equal(3 * 2 + 1 + 3 + 2 + 2, fp32.Count(n => parameters.Any(p => p.name == n))); // 14 fp32 parameters
        foreach (var (name, p) in parameters)
            Assert.True((fp32.Contains(name) ? ScalarType.Float32 : ScalarType.BFloat16) == p.dtype, $"{name} is {p.dtype}");
        foreach (var (name, b) in model.named_buffers())
            if (fp32.Contains(name)) Assert.Equal(ScalarType.Float32, b.dtype);
        Assert.Equal(ScalarType.BFloat16, Param(model, "tok_embeddings.weight").dtype);
        Assert.Equal(ScalarType.BFloat16, Param(model, "blocks.1.moe.experts.gate_up").dtype);
        Assert.Equal(ScalarType.BFloat16, Param(model, "output.weight").dtype);

        // A training-mode forward (noise on, capacity-free dropless top-k, aux-free bias, shared expert, MTP) runs in bf16.
        model.train();
        using var scope = NewDisposeScope();
        var tokens = randint(32, [2, 6]);
        var o = model.Forward(tokens, tokens);
        Assert.Equal(ScalarType.BFloat16, o.Logits.dtype);
        Assert.True(o.Logits.isfinite().all().item<bool>());
        Assert.True(double.IsFinite(Scalar(o.Loss!)));
        Assert.NotNull(o.MtpLoss);
    }

    [Fact]
    public void Bf16ForwardIsFiniteAndCloseToFp32()
    {
        manual_seed(41);
        var config = Tiny(["moe.router.gating=soft", "mtp.depth=1", "moe.num_shared_experts=1"]);
        var reference = new MoeTransformer(config);
        var model = new MoeTransformer(config);
        CopyState(reference, model);
        model.ToComputeDtype(ScalarType.BFloat16);
        using var scope = NewDisposeScope();
        var seq = randint(32, [2, 9]);
        var (tokens, targets) = (seq.narrow(1, 0, 8), seq.narrow(1, 1, 8));

        var o = model.Forward(tokens, targets);
        Assert.Equal(new long[] { 2, 8, 32 }, o.Logits.shape);
        Assert.Equal(ScalarType.BFloat16, o.Logits.dtype);
        Assert.True(o.Logits.isfinite().all().item<bool>());
        foreach (var loss in new[] { o.Loss!, o.LmLoss!, o.MtpLoss!, o.AuxLoss! }) Assert.True(double.IsFinite(Scalar(loss)));

        // Soft gating keeps routing continuous, so bf16 rounding cannot flip an expert choice: logits stay within
        // bf16 precision (8 bits of mantissa, ~0.4% relative) of the fp32 model, far closer than their spread.
        var r = reference.Forward(tokens, targets);
        var scale = MaxAbs(r.Logits);
        Assert.True(scale > 0.1);
        Assert.True(MaxAbsDiff(o.Logits, r.Logits) < 0.05 * scale, $"bf16 logits off by {MaxAbsDiff(o.Logits, r.Logits)} (scale {scale})");
        Assert.Equal(Scalar(r.Loss!), Scalar(o.Loss!), 0.05);

        // Gradients flow in mixed precision: the bf16 embedding and the fp32 router both get finite, non-zero gradients.
        o.Loss!.backward();
        foreach (var name in new[] { "tok_embeddings.weight", "blocks.0.moe.router.weight", "blocks.1.attn_norm.weight" })
        {
            var grad = Param(model, name).grad;
            Assert.NotNull(grad);
            Assert.True(grad!.isfinite().all().item<bool>(), $"{name} gradient not finite");
            Assert.True(MaxAbs(grad) > 0, $"{name} gradient is zero");
        }
    }
}
