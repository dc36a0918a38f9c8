using static Moe.Model.Tests.MoeTestModels;

namespace Moe.Model.Tests;

/// <summary>Expert capacity: slot arithmetic, which assignments drop under each policy, and what a dropped token receives.</summary>
[Collection(Collection)]
public class MoeCapacityTests
{
    [Theory]
    // factor, tokens, top_k, experts, slots worked out by hand
    [InlineData(1.25, 8, 2, 4, 5)]      // ceil(1.25 x 8 x 2 / 4) = ceil(5) = 5
    [InlineData(1.0, 10, 1, 4, 3)]      // ceil(10 / 4) = ceil(2.5) = 3
    [InlineData(1.0, 8, 1, 4, 2)]       // ceil(8 / 4) = 2
    [InlineData(0.5, 8, 1, 4, 1)]       // ceil(0.5 x 8 / 4) = 1
    [InlineData(2.0, 8, 1, 4, 4)]       // ceil(2 x 8 / 4) = 4
    [InlineData(0.01, 10, 1, 4, 1)]     // ceil(0.025) = 1, already the floor of 1
    [InlineData(0.001, 10, 1, 64, 1)]   // ceil(0.00016) = 1
    [InlineData(10.0, 8, 2, 4, 8)]      // ceil(40) = 40, clamped to T = 8
    [InlineData(2.0, 6, 2, 2, 6)]       // ceil(12) = 12, clamped to T = 6
    [InlineData(1.25, 4096, 2, 64, 160)] // ceil(1.25 x 4096 x 2 / 64) = ceil(160) = 160
    [InlineData(1.0, 7, 3, 5, 5)]       // ceil(21 / 5) = ceil(4.2) = 5
    public void SlotsAreCeilOfFactorTimesTokensTimesKOverEClampedToOneAndT(double factor, long tokens, int topK, int experts, long slots) =>
        Assert.Equal(slots, ExpertCapacity.Slots(factor, tokens, topK, experts));

    /// <summary>
    /// Regression: exact arithmetic gives ceil(1.1 x 100 x 1 / 10) = ceil(11) = 11 slots, but in double arithmetic
    /// 1.1 x 100 x 1 / 10 is 11.000000000000002, which a plain Math.Ceiling turns into 12 (one spare slot per expert).
    /// Likewise 1.1 x 100 x 2 / 4 = 55.00000000000001 would give 56 instead of 55.
    /// </summary>
    [Theory]
    [InlineData(1.1, 100, 1, 10, 11)]
    [InlineData(1.1, 100, 2, 4, 55)]
    public void SlotsAreNotInflatedByFloatingPointRounding(double factor, long tokens, int topK, int experts, long slots) =>
        Assert.Equal(slots, ExpertCapacity.Slots(factor, tokens, topK, experts));

    /// <summary>
    /// Tokens x_t = a_t e_0 (d=8) and a router whose only nonzero weight is W[0,0] = 2: logits [2 a_t, 0, 0, 0],
    /// so every token with a_t &gt; 0 prefers expert 0, with softmax score e^{2a}/(e^{2a}+3), increasing in a_t.
    /// </summary>
    static readonly float[] A = [0.5f, 1.0f, 3.0f, 2.0f, 1.5f, 0.25f, 2.5f, 0.75f];

    static (MoELayer Layer, Tensor X) AllPreferExpertZero(string policy, double trainFactor)
    {
        var c = Tiny("moe.top_k=1", "moe.router={\"normalize_top_k\":false}",
            $"moe.capacity={{\"train_factor\":{trainFactor},\"eval_factor\":2.0,\"drop_policy\":\"{policy}\"}}");
        var layer = Layer(c, initStd: 0.5);
        var w = new float[4 * 8];
        w[0] = 2f;
        Set(Param(layer, "router.weight"), w);
        var x = zeros(1, 8, 8);
        for (var t = 0; t < 8; t++) x[0, t, 0] = A[t];
        return (layer, x);
    }

    static bool RowIsZero(float[] y, int t) => y.AsSpan(t * 8, 8).ToArray().All(v => v == 0f);

    [Theory]
    // capacity = ceil(1.0 x 8 x 1 / 4) = 2 slots for expert 0, which all 8 tokens choose.
    // position: the first two tokens in order (t0, t1) keep their slot.
    [InlineData("position", new[] { 0, 1 })]
    // probability: the two highest scores keep it: a = 3.0 (t2) and a = 2.5 (t6).
    [InlineData("probability", new[] { 2, 6 })]
    public void OverflowingTokensDropAccordingToPolicyAndGetZeroOutput(string policy, int[] kept)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var (layer, x) = AllPreferExpertZero(policy, 1.0);
        layer.train();
        var (y, aux) = layer.forward(x);
        var out_ = Floats(y);

        // Kept tokens get gate x expert_0(x); the gate is the raw softmax score (normalize_top_k false).
        var gu = Floats(Param(layer, "experts.gate_up"));
        var down = Floats(Param(layer, "experts.down"));
        for (var t = 0; t < 8; t++)
        {
            if (kept.Contains(t))
            {
                var xt = new double[8];
                xt[0] = A[t];
                var gate = Math.Exp(2 * xt[0]) / (Math.Exp(2 * xt[0]) + 3);
                var expected = ExpertOutput(gu, down, 0, 8, 8, xt).Select(v => gate * v).ToArray();
                AssertClose(expected, out_.AsSpan(t * 8, 8).ToArray(), 1e-5, $"kept token {t}");
                Assert.False(RowIsZero(out_, t), $"kept token {t} got no output");
            }
            else Assert.True(RowIsZero(out_, t), $"dropped token {t} must get exactly zero");
        }

        // Stats: all 8 assignments went to expert 0, capacity 2, 6 of 8 dropped.
        var stats = Floats(aux.Stats);
        Assert.Equal([8f, 0f, 0f, 0f], stats[..4]);
        Assert.Equal(6f, stats[4]);
        Assert.Equal(8f, stats[5]);
        Assert.Equal(2f, stats[^1]);
    }

    [Theory]
    [InlineData("position")]
    [InlineData("probability")]
    public void FirstChoicesOutrankSecondChoices(string policy)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        // Top-2, T=4, E=4, factor 1: capacity = ceil(1 x 4 x 2 / 4) = 2.
        // Router: W[0,0] = W[1,1] = 2. Tokens x = (2, 1, 0...) for t0, t1 -> logits [4, 2, 0, 0]: first e0, second e1;
        // x = (1, 2, 0...) for t2, t3 -> logits [2, 4, 0, 0]: first e1, second e0.
        // Expert 0's queue: first choices t0, t1, then second choices t2, t3 -> keeps t0, t1.
        // Expert 1's queue: first choices t2, t3, then second choices t0, t1 -> keeps t2, t3.
        // So every first choice is kept and every second choice dropped: 4 of 8 assignments.
        // (Under probability the same holds: every first-choice gate, e^4/(e^4+e^2+2) ~ 0.86 normalised to 0.88,
        // exceeds every second-choice gate, ~0.12.)
        var c = Tiny("moe.top_k=2", $"moe.capacity={{\"train_factor\":1.0,\"drop_policy\":\"{policy}\"}}");
        var layer = Layer(c, initStd: 0.5);
        var w = new float[4 * 8];
        w[0 * 8 + 0] = 2f;
        w[1 * 8 + 1] = 2f;
        Set(Param(layer, "router.weight"), w);
        var x = zeros(1, 4, 8);
        double[][] xs = [[2, 1], [2, 1], [1, 2], [1, 2]];
        for (var t = 0; t < 4; t++) { x[0, t, 0] = (float)xs[t][0]; x[0, t, 1] = (float)xs[t][1]; }
        layer.train();
        var (y, aux) = layer.forward(x);

        var gu = Floats(Param(layer, "experts.gate_up"));
        var down = Floats(Param(layer, "experts.down"));
        var out_ = Floats(y);
        for (var t = 0; t < 4; t++)
        {
            // Normalised top-2 gate of the first choice: e^4 / (e^4 + e^2) (the softmax denominator cancels).
            var gate = Math.Exp(4) / (Math.Exp(4) + Math.Exp(2));
            var first = t < 2 ? 0 : 1;
            var xt = new double[8];
            xt[0] = xs[t][0];
            xt[1] = xs[t][1];
            var expected = ExpertOutput(gu, down, first, 8, 8, xt).Select(v => gate * v).ToArray();
            AssertClose(expected, out_.AsSpan(t * 8, 8).ToArray(), 1e-5, $"token {t}");
        }
        var stats = Floats(aux.Stats);
        Assert.Equal([4f, 4f, 0f, 0f], stats[..4]);
        Assert.Equal(4f, stats[4]);
        Assert.Equal(2f, stats[^1]);
    }

    [Fact]
    public void PlanKeepsPriorityOrderWithinEachExpert()
    {
        using var scope = NewDisposeScope();
        // Direct check of the dispatch plan: 5 tokens, top-1, experts [2, 0, 2, 2, 1], capacity 2, position policy.
        // Expert 2's queue is t0, t2, t3 -> t3 drops; experts 0 and 1 take t1 and t4.
        // Slots are expert x capacity + position: t0 -> 2x2+0 = 4, t1 -> 0, t2 -> 2x2+1 = 5, t4 -> 1x2+0 = 2.
        // The plan lists kept assignments grouped by expert (0, 1, 2), priority order inside: t1 | t4 | t0, t2.
        var index = tensor(new long[] { 2, 0, 2, 2, 1 }).view(5, 1);
        var gates = tensor(new float[] { 0.9f, 0.8f, 0.7f, 0.95f, 0.6f }).view(5, 1);
        var plan = ExpertCapacity.Plan(index, gates, 3, 2, DropPolicy.Position);
        Assert.Equal([1L, 4, 0, 2], Longs(plan.Token));
        Assert.Equal([0L, 2, 4, 5], Longs(plan.Slot));
        Assert.Equal([0.8f, 0.6f, 0.9f, 0.7f], Floats(plan.Gate));
        Assert.Equal([1L, 1, 2], plan.KeptPerExpert);
        Assert.Equal([1L, 1, 3], Longs(plan.TokensPerExpert));
        Assert.Equal(1, plan.Dropped);
        Assert.Equal(2, plan.Capacity);

        // Probability: expert 2's queue by gate is t3 (0.95), t0 (0.9), t2 (0.7) -> t2 drops instead.
        var byScore = ExpertCapacity.Plan(index, gates, 3, 2, DropPolicy.Probability);
        Assert.Equal([0L, 1, 3, 4], Longs(byScore.Token).Order());
        Assert.Equal(1, byScore.Dropped);

        // Dropless (null capacity): capacity = busiest load = 3, nothing dropped.
        var dropless = ExpertCapacity.Plan(index, gates, 3, null, DropPolicy.Position);
        Assert.Equal(3, dropless.Capacity);
        Assert.Equal(0, dropless.Dropped);
    }

    [Fact]
    public void TrainAndEvalUseTheirOwnFactors()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var (layer, x) = AllPreferExpertZero("position", 0.5);
        // train: ceil(0.5 x 8 x 1 / 4) = 1 slot -> 7 of 8 dropped; eval: ceil(2.0 x 8 / 4) = 4 slots -> 4 of 8 dropped.
        layer.train();
        var train = Floats(layer.forward(x).Aux.Stats);
        layer.eval();
        var eval = Floats(layer.forward(x).Aux.Stats);
        Assert.Equal((1f, 7f), (train[^1], train[4]));
        Assert.Equal((4f, 4f), (eval[^1], eval[4]));
    }

    /// <summary>
    /// A one-block model whose router sends every token to expert 0: router weights zero (all scores equal) and
    /// the DeepSeek-V3 selection bias of expert 0 set to 10, which decides the choice but not the gate.
    /// </summary>
    static MoeTransformer AllToExpertZeroModel(double trainFactor, double evalFactor = 2.0)
    {
        var c = Tiny("moe.top_k=1", "moe.balance={\"aux_free\":true}", "init_std=0.2",
            $"moe.capacity={{\"train_factor\":{trainFactor},\"eval_factor\":{evalFactor}}}");
        var model = new MoeTransformer(c);
        var (_, moe) = model.MoeLayers.Single();
        Set(Param(moe, "router.weight"), zeros(4, 8));
        Set(moe.Router.Bias!, new float[] { 10, 0, 0, 0 });
        return model;
    }

    [Fact]
    public void DroppedTokensPassTheBlockResidualUnchanged()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var model = AllToExpertZeroModel(1.0);
        model.train();
        var block = (TransformerBlock)model.named_modules().Single(m => m.name == "blocks.0").module;
        var attnNorm = (RMSNorm)model.named_modules().Single(m => m.name == "blocks.0.attn_norm").module;
        var attn = (CausalSelfAttention)model.named_modules().Single(m => m.name == "blocks.0.attn").module;

        using var no = no_grad();
        var x = randn(2, 4, 8);
        var (output, aux) = block.forward(x, BlockContext.Start);
        // h = x + Attn(RMSNorm(x)): the block's output before its feed-forward residual.
        var h = Floats(x + attn.forward(attnNorm.forward(x), BlockContext.Start));
        var o = Floats(output);

        // 8 tokens (B=2 x T=4, flattened batch-major), capacity ceil(1 x 8 x 1 / 4) = 2: flat tokens 0, 1 keep
        // their slot (batch 0, positions 0 and 1); the other 6 drop, so their output is exactly h.
        for (var t = 0; t < 8; t++)
        {
            var same = o.AsSpan(t * 8, 8).SequenceEqual(h.AsSpan(t * 8, 8));
            if (t < 2) Assert.False(same, $"kept token {t} got no expert output");
            else Assert.True(same, $"dropped token {t} must pass the residual unchanged");
        }
        Assert.Equal(6f, Floats(aux!.Stats)[4]);
    }

    [Fact]
    public void DroppedTokensLogitsIgnoreTheExpertsAndStatsReportTheDrops()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        using var model = AllToExpertZeroModel(1.0);
        model.train();
        var tokens = randint(0, 16, [2, 4]);
        var before = ForwardNoGrad(model, tokens);

        var stats = Assert.Single(before.RouterStats);
        Assert.Equal([8L, 0, 0, 0], stats.TokensPerExpert);
        Assert.Equal(2, stats.Capacity);
        Assert.Equal(6.0 / 8.0, stats.DroppedFraction, 1e-9);
        Assert.Equal(4.0, stats.MaxOverMeanLoad, 1e-9);
        Assert.Equal([10f, 0f, 0f, 0f], Assert.IsType<float[]>(stats.Bias));

        // Change every routed expert's weights: in a one-block model a token's logits depend on its experts only
        // through its own MoE output, so the 6 dropped tokens' logits stay bit-identical and the 2 kept ones change.
        var (_, moe) = model.MoeLayers.Single();
        using (no_grad()) Param(moe, "experts.down").add_(0.5);
        var after = ForwardNoGrad(model, tokens);
        var l0 = Floats(before.Logits);
        var l1 = Floats(after.Logits);
        for (var t = 0; t < 8; t++)
        {
            var same = l0.AsSpan(t * 16, 16).SequenceEqual(l1.AsSpan(t * 16, 16));
            Assert.True(t >= 2 == same, $"token {t}: logits {(same ? "unchanged" : "changed")}");
        }

        // eval: capacity ceil(2 x 8 / 4) = 4, so 4 of 8 drop.
        model.eval();
        var evalStats = ForwardNoGrad(model, tokens).RouterStats.Single();
        Assert.Equal(4, evalStats.Capacity);
        Assert.Equal(0.5, evalStats.DroppedFraction, 1e-9);
    }

    [Fact]
    public void DroppedTokenStillGetsItsSharedExperts()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        // Same as above with one shared expert: a dropped token's MoE output is exactly the shared expert's.
        var (layer, x) = AllPreferExpertZero("position", 0.5);
        var c = Tiny("moe.top_k=1", "moe.router={\"normalize_top_k\":false}", "moe.num_shared_experts=1",
            "moe.capacity={\"train_factor\":0.5}");
        var withShared = Layer(c, initStd: 0.5);
        Set(Param(withShared, "router.weight"), Param(layer, "router.weight"));
        layer.train();
        withShared.train();
        var (y, _) = withShared.forward(x);
        var shared = (SwiGLU)withShared.named_modules().Single(m => m.name == "shared_experts.experts").module;
        var s = Floats(shared.forward(x));
        var o = Floats(y);
        // capacity 1: only t0 is kept; t1..t7 get exactly their shared output.
        Assert.False(o.AsSpan(0, 8).SequenceEqual(s.AsSpan(0, 8)));
        for (var t = 1; t < 8; t++) Assert.True(o.AsSpan(t * 8, 8).SequenceEqual(s.AsSpan(t * 8, 8)), $"token {t}");
    }
}
