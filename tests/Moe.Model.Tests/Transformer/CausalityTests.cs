using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

/// <summary>
/// A token never influences logits at earlier positions.
/// </summary>
/// <remarks>
/// The MoE layers run dropless or with soft gating on purpose. With a finite capacity the tokens of a batch compete for
/// expert slots: under the position policy a token's second choice ranks after every token's first choice, so changing
/// a later token's first choice can push an earlier token's second choice out of a full expert (and under the
/// probability policy any token can outrank any other). Dropping therefore couples positions across the whole batch,
/// which breaks causality by design; dropless routing and soft gating treat each token on its own.
/// </remarks>
public class CausalityTests
{
    public static readonly TheoryData<string[]> Variants = new(
        [],                                                                           // GQA, every block top-2 dropless
        ["moe.router.gating=soft"],                                                   // soft gating: no capacity at all
        ["sliding_window=3", "moe.num_shared_experts=1", "moe.router.score=sigmoid"], // window mask path, shared expert
        ["n_kv_heads=null", "n_layers=3", "moe.every=2", "moe.first_dense_blocks=0"], // MHA, dense and MoE blocks mixed
        ["mtp={\"depth\":2}", "tie_embeddings=false"]);                               // MTP present (inference skips it)

    [Theory, MemberData(nameof(Variants))]
    public void ChangingATokenLeavesEarlierLogitsUnchanged(string[] overrides)
    {
        manual_seed(20);
        var model = new MoeTransformer(Tiny(overrides));
        model.train(); // training capacity factor (1.25) would drop tokens if dropless were ignored
        using var scope = NewDisposeScope();
        using var no = no_grad();
        const int t = 10;
        var tokens = randint(32, [2, t]);
        foreach (var j in new[] { 0, 4, t - 1 })
        {
            var changed = tokens.clone();
            changed[.., j] = (tokens[.., j] + 1) % 32;
            var output = model.Forward(tokens);
            var a = output.Logits;
            var b = model.forward(changed);
            Assert.All(output.RouterStats, s => Assert.Equal(0.0, s.DroppedFraction));
            Assert.Equal(new long[] { 2, t, 32 }, a.shape);
            if (j > 0)
            {
                var before = MaxAbsDiff(a.narrow(1, 0, j), b.narrow(1, 0, j));
                Assert.True(before < 1e-6, $"changing token {j} moved earlier logits by {before}");
            }
            var at = MaxAbsDiff(a.narrow(1, j, 1), b.narrow(1, j, 1));
            Assert.True(at > 1e-3, $"changing token {j} did not change its own logits ({at})");
            Assert.True(MaxAbs(a) > 0.1, "logits too small for the tolerance to mean anything");
        }
    }
}
