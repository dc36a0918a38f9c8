using static Moe.Model.Tests.MoeTestModels;

namespace Moe.Model.Tests;

/// <summary>DeepSeek-V3 auxiliary-loss-free balancing: the bias moves load toward balance and never enters the gates.</summary>
[Collection(Collection)]
public class MoeAuxFreeBiasTests
{
    const int E = 8, D = 8;
    const double Gamma = 0.01;

    /// <summary>
    /// One MoE block, E=8 sigmoid experts, top-2 normalised (DeepSeek-V3 style), dropless. Skew: every embedding is
    /// u + noise (std 1) with u = (1,...,1), and router row 0 is 0.3 u, so expert 0's logit is about
    /// 0.3 x (8 +- 2.8) / 1.4 = 1.7 +- 0.6 for every token while the others (random rows, std 0.3) are about +-0.85:
    /// (almost) every token picks expert 0, so its load is ~T against a mean of 2T / 8 and max/mean starts near 4.
    /// Embeddings differ per vocabulary entry (256 of them), so loads move in small steps as the bias moves.
    /// </summary>
    static MoeTransformer SkewedModel()
    {
        var c = Tiny("vocab_size=256", $"moe.num_experts={E}", "moe.top_k=2", "moe.router={\"score\":\"sigmoid\",\"normalize_top_k\":true}",
            $"moe.balance={{\"aux_free\":true,\"aux_free_gamma\":{Gamma}}}");
        var model = new MoeTransformer(c);
        Set(Param(model, "tok_embeddings.weight"), ones(256, D) + randn(256, D));
        var router = randn(E, D) * 0.3;
        router[0] = full(D, 0.3f);
        Set(Param(model, "blocks.0.moe.router.weight"), router);
        return model;
    }

    [Fact]
    public void BiasUpdatesBalanceTheLoadOfASkewedRouter()
    {
        using var scope = NewDisposeScope();
        manual_seed(21);
        using var model = SkewedModel();
        var (_, moe) = model.MoeLayers.Single();
        var tokens = randint(0, 256, [8, 16]); // 128 tokens, 256 assignments, mean load 32 per expert

        var loads = new List<double>();
        for (var step = 0; step < 80; step++)
        {
            using var stepScope = NewDisposeScope();
            var stats = ForwardNoGrad(model, tokens).RouterStats.Single();
            loads.Add(stats.MaxOverMeanLoad);
            var reported = Assert.IsType<float[]>(stats.Bias);
            if (step == 0)
            {
                Assert.Equal(new float[E], reported); // the bias starts at zero
                Assert.True(stats.TokensPerExpert[0] >= 120); // and (almost) every token chose expert 0
            }
            model.UpdateAuxFreeBiases([stats]);
            if (step == 0)
            {
                // First update from zero: b_i = gamma x sign(mean load - load_i) with mean load 256 / 8 = 32,
                // so expert 0 (load 128) gets -gamma.
                var expected = stats.TokensPerExpert.Select(n => Gamma * Math.Sign(32.0 - n)).ToArray();
                Assert.Equal(-Gamma, expected[0]);
                AssertClose(expected, Floats(moe.Router.Bias!), 1e-7, "first update");
            }
        }

        // From total skew (max/mean ~4) to near balance: every one of the last 20 steps is below 1.5.
        Assert.True(loads[0] > 3.5, $"start {loads[0]}");
        var late = loads.Skip(60).Max();
        Assert.True(late < 1.5, $"worst max/mean load over the last 20 steps {late:F3} (start {loads[0]:F3}): {string.Join(" ", loads.Select(l => l.ToString("F2")))} bias {string.Join(" ", Floats(moe.Router.Bias!))}");
        // The bias that did it penalises expert 0 (by many gamma steps).
        Assert.True(Floats(moe.Router.Bias!)[0] < -5 * Gamma);
    }

    [Fact]
    public void GatesAreRouterScoresWithoutTheBias()
    {
        using var scope = NewDisposeScope();
        manual_seed(22);
        using var model = SkewedModel();
        var (_, moe) = model.MoeLayers.Single();
        // A large bias against expert 0 and for expert 5 changes which experts are chosen.
        Set(moe.Router.Bias!, new float[] { -0.6f, 0, 0.1f, 0, 0, 0.4f, 0, -0.05f });

        var x = 0.9 * (ones(12, D) + 0.5 * randn(12, D));
        using var no = no_grad();
        var route = moe.Router.forward(x);

        var w = Floats(Param(moe, "router.weight"));
        var bias = Floats(moe.Router.Bias!);
        var xs = Floats(x);
        var index = Longs(route.ExpertIndex);
        var gates = Floats(route.Gates);
        var biasChangedAChoice = false;
        for (var t = 0; t < 12; t++)
        {
            // s_i = sigmoid(w_i . x); chosen = top-2 of s_i + b_i; gate = s_i / (s_a + s_b) over the chosen a, b.
            var s = Enumerable.Range(0, E).Select(i => Sigmoid(Enumerable.Range(0, D).Sum(j => (double)w[i * D + j] * xs[t * D + j]))).ToArray();
            var chosen = TopK(s.Select((v, i) => v + bias[i]).ToArray(), 2);
            Assert.Equal(chosen.Select(i => (long)i), index.Skip(2 * t).Take(2));
            var sum = s[chosen[0]] + s[chosen[1]];
            AssertClose([s[chosen[0]] / sum, s[chosen[1]] / sum], gates.AsSpan(2 * t, 2).ToArray(), 1e-6, $"gates of token {t}");

            // The biased scores would give different gates (so the check above can tell them apart).
            var biasedSum = s[chosen[0]] + bias[chosen[0]] + s[chosen[1]] + bias[chosen[1]];
            Assert.True(Math.Abs((s[chosen[0]] + bias[chosen[0]]) / biasedSum - gates[2 * t]) > 1e-4 || bias[chosen[0]] == bias[chosen[1]]);
            biasChangedAChoice |= !TopK(s, 2).Order().SequenceEqual(chosen.Order());
        }
        Assert.True(biasChangedAChoice, "the bias should change at least one token's choice");
    }

    [Fact]
    public void WithoutAuxFreeThereIsNoBiasAndUpdatingIsANoOp()
    {
        using var scope = NewDisposeScope();
        manual_seed(23);
        using var model = new MoeTransformer(Tiny());
        var tokens = randint(0, 16, [2, 8]);
        var before = ForwardNoGrad(model, tokens);
        var stats = before.RouterStats.Single();
        Assert.Null(stats.Bias);
        Assert.DoesNotContain(model.named_buffers(), b => b.name.EndsWith("expert_bias"));
        model.UpdateAuxFreeBiases([stats]);
        var after = ForwardNoGrad(model, tokens);
        Assert.Equal(Floats(before.Logits), Floats(after.Logits));
    }
}
