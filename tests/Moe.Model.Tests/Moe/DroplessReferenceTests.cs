using static Moe.Model.Tests.MoeTestModels;

namespace Moe.Model.Tests;

/// <summary>A dropless MoE layer equals a token-by-token reference written with plain doubles from its weights.</summary>
[Collection(Collection)]
public class MoeDroplessReferenceTests
{
    /// <summary>
    /// Per-token reference: logits = W_r x; scores = softmax or sigmoid; chosen = top-k of scores (all experts for soft
    /// gating); gate = score of the choice, divided by the chosen scores' sum when normalising; output =
    /// sum gate x SwiGLU_e(x) + shared SwiGLU(x). SwiGLU_e(x) = (silu(x G_e) * (x U_e)) D_e with
    /// gate_up[e] = [G_e | U_e] of shape [d, 2h] and down[e] of shape [h, d].
    /// </summary>
    static double[][] Reference(nn.Module layer, MoeConfig m, float[] x, int tokens, int d, out int[][] chosen, out double[][] gates)
    {
        int e = m.NumExperts, h = m.ExpertHidden;
        var wr = Floats(Param(layer, "router.weight"));           // [E, d]
        var gu = Floats(Param(layer, "experts.gate_up"));         // [E, d, 2h]
        var down = Floats(Param(layer, "experts.down"));          // [E, h, d]
        var shared = m.NumSharedExperts > 0;
        int hs = m.NumSharedExperts * m.SharedHidden;
        float[] sgu = shared ? Floats(Param(layer, "shared_experts.experts.gate_up.weight")) : [];  // Linear [2 hs, d]
        float[] sdown = shared ? Floats(Param(layer, "shared_experts.experts.down.weight")) : [];   // Linear [d, hs]

        var outputs = new double[tokens][];
        chosen = new int[tokens][];
        gates = new double[tokens][];
        for (var t = 0; t < tokens; t++)
        {
            var xt = x.AsSpan(t * d, d).ToArray();
            var logits = new double[e];
            for (var i = 0; i < e; i++)
                for (var j = 0; j < d; j++) logits[i] += wr[i * d + j] * xt[j];
            var scores = m.Router.Score == RouterScore.Softmax ? Softmax(logits) : logits.Select(Sigmoid).ToArray();
            var pick = m.Router.Gating == Gating.Soft ? Enumerable.Range(0, e).ToArray() : TopK(scores, m.TopK);
            var g = pick.Select(i => scores[i]).ToArray();
            if (m.Router.NormalizeTopK) { var s = g.Sum(); g = g.Select(v => v / s).ToArray(); }
            chosen[t] = pick;
            gates[t] = g;

            var y = new double[d];
            for (var c = 0; c < pick.Length; c++)
            {
                var expert = ExpertOutput(gu, down, pick[c], d, h, xt.Select(v => (double)v).ToArray());
                for (var j = 0; j < d; j++) y[j] += g[c] * expert[j];
            }
            if (shared)
            {
                var act = new double[hs];
                for (var k = 0; k < hs; k++)
                {
                    double gateSum = 0, upSum = 0;
                    for (var j = 0; j < d; j++)
                    {
                        gateSum += sgu[k * d + j] * xt[j];
                        upSum += sgu[(hs + k) * d + j] * xt[j];
                    }
                    act[k] = Silu(gateSum) * upSum;
                }
                for (var j = 0; j < d; j++)
                    for (var k = 0; k < hs; k++) y[j] += sdown[j * hs + k] * act[k];
            }
            outputs[t] = y;
        }
        return outputs;
    }

    public static readonly TheoryData<string, string, bool, int> Variants = new()
    {
        // score, gating, normalize_top_k, shared experts
        { "softmax", "top_k", true, 0 },
        { "softmax", "top_k", false, 0 },
        { "softmax", "top_k", true, 2 },
        { "softmax", "top_k", false, 1 },
        { "sigmoid", "top_k", true, 0 },
        { "sigmoid", "top_k", false, 0 },
        { "sigmoid", "top_k", true, 2 },
        { "softmax", "soft", false, 0 },
        { "softmax", "soft", true, 1 },
        { "sigmoid", "soft", true, 0 },
        // Noisy top-k (Shazeer 2017) adds noise only in training; evaluated here in eval mode, it is plain top-k.
        { "softmax", "noisy_top_k", true, 1 },
        { "softmax", "noisy_top_k", false, 0 },
    };

    [Theory, MemberData(nameof(Variants))]
    public void DroplessLayerMatchesPerTokenReference(string score, string gating, bool normalize, int shared)
    {
        using var scope = NewDisposeScope();
        manual_seed(1234);
        var c = Tiny(
            $"moe.router={{\"score\":\"{score}\",\"gating\":\"{gating}\",\"normalize_top_k\":{(normalize ? "true" : "false")}}}",
            $"moe.num_shared_experts={shared}", "moe.shared_expert_hidden=3", "moe.expert_hidden=6");
        // Large init so that routing differs between tokens and expert outputs are O(1).
        var layer = Layer(c, initStd: 0.5);
        var x = randn(2, 5, 8);
        if (gating == "noisy_top_k") layer.eval();

        var (y, aux) = layer.forward(x);
        var expected = Reference(layer, c.Moe!, Floats(x), 10, 8, out var chosen, out var gates);
        AssertClose(expected.SelectMany(r => r).ToArray(), Floats(y), 1e-5, "output");

        // The router agrees with the reference on the choices and the gates.
        var route = layer.Router.forward(x.reshape(10, 8));
        Assert.Equal(chosen.SelectMany(r => r).Select(i => (long)i), Longs(route.ExpertIndex));
        AssertClose(gates.SelectMany(r => r).ToArray(), Floats(route.Gates), 1e-6, "gates");

        // Dropless: nothing dropped, and the counts are the reference's choices.
        var stats = Floats(aux.Stats);
        var counts = Enumerable.Range(0, 4).Select(i => (float)chosen.Sum(p => p.Count(v => v == i))).ToArray();
        Assert.Equal(counts, stats[..4]);
        Assert.Equal(0f, stats[4]);

        // The test is not vacuous: experts differ between tokens (for top-k) and the output is not ~0.
        if (gating == "top_k") Assert.True(chosen.Select(p => p[0]).Distinct().Count() > 1, "all tokens chose the same expert");
        Assert.True(expected.SelectMany(r => r).Max(Math.Abs) > 1e-2);
    }

    [Fact]
    public void MoeBlockInsideTheModelMatchesReference()
    {
        using var scope = NewDisposeScope();
        manual_seed(99);
        // A two-block model whose second block is MoE (first_dense_blocks=1), with a shared expert, top-2 softmax.
        var c = Tiny("n_layers=2", "moe.first_dense_blocks=1", "moe.num_shared_experts=1", "init_std=0.3");
        using var model = new MoeTransformer(c);
        var (layerIndex, moe) = Assert.Single(model.MoeLayers);
        Assert.Equal(1, layerIndex);

        var x = randn(3, 4, 8);
        var (y, _) = moe.forward(x);
        var expected = Reference(moe, c.Moe!, Floats(x), 12, 8, out _, out _);
        AssertClose(expected.SelectMany(r => r).ToArray(), Floats(y), 1e-5, "output");
    }

    [Fact]
    public void GenerousCapacityEqualsDropless()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        // Capacity factor E / k = 2 gives T slots per expert: nothing can overflow, so the output is the dropless one.
        var dropless = Layer(Tiny(), initStd: 0.5);
        var capped = Layer(Tiny("moe.capacity={\"train_factor\":2.0,\"eval_factor\":2.0}"), initStd: 0.5);
        capped.load_state_dict(dropless.state_dict());
        var x = randn(2, 6, 8);
        var (a, _) = dropless.forward(x);
        var (b, aux) = capped.forward(x);
        AssertClose(Floats(a).Select(v => (double)v).ToArray(), Floats(b), 1e-6, "capped vs dropless");
        // Capacity slot = ceil(2 x 12 x 2 / 4) = 12 = T.
        Assert.Equal(12f, Floats(aux.Stats)[^1]);
    }

    [Fact]
    public void NoisyTopKPerturbsTheChoiceOnlyInTraining()
    {
        using var scope = NewDisposeScope();
        manual_seed(17);
        var c = Tiny("moe.router={\"gating\":\"noisy_top_k\"}", "moe.num_experts=8", "moe.top_k=1");
        var layer = Layer(c, initStd: 0.1);
        var x = randn(64, 8);
        using var no = no_grad();

        layer.Router.eval();
        var clean = layer.Router.forward(x);
        var again = layer.Router.forward(x);
        Assert.Equal(Longs(clean.ExpertIndex), Longs(again.ExpertIndex)); // deterministic without noise

        // Training: logits x W_g + N(0,1) x softplus(x W_noise); W_noise starts at zero, so the noise std is ln 2 ~ 0.69,
        // large against these logits (std ~0.1 x sqrt(8) ~ 0.3): many of the 64 tokens change their choice.
        layer.Router.train();
        var noisy = layer.Router.forward(x);
        AssertClose(Floats(clean.Logits).Select(v => (double)v).ToArray(), Floats(noisy.Logits), 1e-6, "logits are reported before noise");
        var changed = Longs(clean.ExpertIndex).Zip(Longs(noisy.ExpertIndex)).Count(p => p.First != p.Second);
        Assert.True(changed >= 8, $"only {changed} of 64 tokens changed expert under noise");
        Assert.Equal(8 * 8, Param(layer, "router.noise_weight").numel());
    }
}
