using static Moe.Model.Tests.MoeTestModels;

namespace Moe.Model.Tests;

/// <summary>The balancing losses on a fixed T=4 tokens x E=4 experts example worked out by hand.</summary>
[Collection(Collection)]
public class MoeBalancingLossTests
{
    // Router distribution per token (rows sum to 1):
    //   t0: 0.70 0.15 0.10 0.05
    //   t1: 0.10 0.60 0.20 0.10
    //   t2: 0.40 0.30 0.20 0.10
    //   t3: 0.10 0.20 0.30 0.40
    static readonly float[] ProbRows = [0.70f, 0.15f, 0.10f, 0.05f, 0.10f, 0.60f, 0.20f, 0.10f, 0.40f, 0.30f, 0.20f, 0.10f, 0.10f, 0.20f, 0.30f, 0.40f];
    // Top-2 choices, best first: t0 {0,1}, t1 {1,2}, t2 {0,1}, t3 {3,2}.
    static readonly long[] Index = [0, 1, 1, 2, 0, 1, 3, 2];
    // Gates of those choices (hand-picked, each row sums to 1).
    static readonly float[] GateRows = [0.8f, 0.2f, 0.75f, 0.25f, 0.6f, 0.4f, 0.5f, 0.5f];

    static Tensor Probs() => tensor(ProbRows).view(4, 4);
    static Tensor ExpertIndex() => tensor(Index).view(4, 2);
    static Tensor Gates() => tensor(GateRows).view(4, 2);

    // Assignments per expert: e0 = t0,t2 -> 2; e1 = t0,t1,t2 -> 3; e2 = t1,t3 -> 2; e3 = t3 -> 1; total 8 = T x k.
    static Tensor Counts() => tensor(new long[] { 2, 3, 2, 1 });

    [Fact]
    public void DispatchFractionIsShareOfAssignments()
    {
        using var scope = NewDisposeScope();
        // f = counts / (T k) = [2, 3, 2, 1] / 8
        AssertClose([0.25, 0.375, 0.25, 0.125], Floats(BalancingLosses.DispatchFraction(Counts(), 8)), 1e-7, "f");
    }

    [Fact]
    public void SwitchLossMatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        // f = [0.25, 0.375, 0.25, 0.125]
        // P = column means = [1.3, 1.25, 0.8, 0.65] / 4 = [0.325, 0.3125, 0.2, 0.1625]
        // E sum f_i P_i = 4 x (0.08125 + 0.1171875 + 0.05 + 0.0203125) = 4 x 0.26875 = 1.075
        var f = BalancingLosses.DispatchFraction(Counts(), 8);
        AssertClose(1.075, BalancingLosses.SwitchLoss(f, Probs()), 1e-5, "switch");
    }

    [Fact]
    public void ImportanceLossIsSquaredCoefficientOfVariationOfGateSums()
    {
        using var scope = NewDisposeScope();
        // Importance_i = sum of gates given to expert i:
        //   e0 = 0.8 (t0) + 0.6 (t2) = 1.4
        //   e1 = 0.2 (t0) + 0.75 (t1) + 0.4 (t2) = 1.35
        //   e2 = 0.25 (t1) + 0.5 (t3) = 0.75
        //   e3 = 0.5 (t3) = 0.5
        // mean = 4 / 4 = 1; deviations 0.4, 0.35, -0.25, -0.5; squares 0.16 + 0.1225 + 0.0625 + 0.25 = 0.595
        // population variance = 0.595 / 4 = 0.14875; CV^2 = 0.14875 / 1^2 = 0.14875
        AssertClose(0.14875, BalancingLosses.ImportanceLoss(ExpertIndex(), Gates(), 4), 1e-5, "importance");
    }

    [Fact]
    public void ImportanceLossIsScaleFree()
    {
        using var scope = NewDisposeScope();
        // CV^2 does not change when every gate is multiplied by 3 (mean and std both scale by 3).
        var a = Scalar(BalancingLosses.ImportanceLoss(ExpertIndex(), Gates(), 4));
        var b = Scalar(BalancingLosses.ImportanceLoss(ExpertIndex(), Gates() * 3, 4));
        Assert.Equal(a, b, 1e-5);
    }

    [Fact]
    public void ZLossIsMeanSquaredLogSumExp()
    {
        using var scope = NewDisposeScope();
        double ln2 = Math.Log(2), ln3 = Math.Log(3), ln4 = Math.Log(4);
        // Rows and their logsumexp:
        //   [0, 0, 0, 0]            -> ln(1+1+1+1) = ln 4 = 1.3862944   squared 1.9218121
        //   [0, ln2, ln3, ln4]      -> ln(1+2+3+4) = ln 10 = 2.3025851  squared 5.3018981
        //   [1, 1, 1, 1]            -> 1 + ln 4 = 2.3862944             squared 5.6944008
        //   [ln2, ln2, ln2, ln2]    -> ln(4 x 2) = ln 8 = 2.0794415      squared 4.3240771
        // mean = (1.9218121 + 5.3018981 + 5.6944008 + 4.3240771) / 4 = 17.2421881 / 4 = 4.3105470
        var logits = tensor(new[] { 0, 0, 0, 0, 0, ln2, ln3, ln4, 1, 1, 1, 1, ln2, ln2, ln2, ln2 }.Select(v => (float)v).ToArray()).view(4, 4);
        AssertClose(4.3105470, BalancingLosses.ZLoss(logits), 1e-5, "z");
    }

    [Fact]
    public void GroupLossIsDeepSeekV2DeviceLevelLoss()
    {
        using var scope = NewDisposeScope();
        // G = 2 groups: {e0, e1}, {e2, e3}.
        // E f = 4 x [0.25, 0.375, 0.25, 0.125] = [1, 1.5, 1, 0.5]; f'_g = mean over the group = [1.25, 0.75]
        // P = [0.325, 0.3125, 0.2, 0.1625]; P'_g = sum over the group = [0.6375, 0.3625]
        // loss = 1.25 x 0.6375 + 0.75 x 0.3625 = 0.796875 + 0.271875 = 1.06875
        var f = BalancingLosses.DispatchFraction(Counts(), 8);
        AssertClose(1.06875, BalancingLosses.GroupLoss(f, Probs(), 2), 1e-5, "group");
        // With G = 1 it is E x mean(f) x sum(P) = 4 x 0.25 x 1 = 1 whatever the routing.
        AssertClose(1.0, BalancingLosses.GroupLoss(f, Probs(), 1), 1e-5, "group G=1");
        // With G = E it is E x sum f_i P_i, the Switch loss: 1.075.
        AssertClose(1.075, BalancingLosses.GroupLoss(f, Probs(), 4), 1e-5, "group G=E");
    }

    [Fact]
    public void MeanEntropyMatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        // -p ln p: 0.70 -> 0.2496725, 0.15 -> 0.2845680, 0.10 -> 0.2302585, 0.05 -> 0.1497866,
        //          0.60 -> 0.3064954, 0.20 -> 0.3218876, 0.40 -> 0.3665163, 0.30 -> 0.3611918
        // H(t0) = 0.2496725 + 0.2845680 + 0.2302585 + 0.1497866 = 0.9142856
        // H(t1) = 0.2302585 + 0.3064954 + 0.3218876 + 0.2302585 = 1.0889000
        // H(t2) = H(t3) = 0.3665163 + 0.3611918 + 0.3218876 + 0.2302585 = 1.2798542
        // mean = (0.9142856 + 1.0889000 + 2 x 1.2798542) / 4 = 4.5628940 / 4 = 1.1407235
        AssertClose(1.1407235, BalancingLosses.MeanEntropy(Probs()), 1e-5, "entropy");
        // A one-hot row has entropy 0 (the clamp keeps 0 ln 0 at 0, not NaN); uniform over 4 has ln 4.
        var extremes = tensor(new float[] { 1, 0, 0, 0, 0.25f, 0.25f, 0.25f, 0.25f }).view(2, 4);
        AssertClose(Math.Log(4) / 2, BalancingLosses.MeanEntropy(extremes), 1e-6, "entropy one-hot/uniform");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void UniformRoutingGivesSwitchAndGroupLossOne(int topK)
    {
        using var scope = NewDisposeScope();
        // 8 tokens, 4 experts, every probability 1/4; token t picks experts (t + j) mod 4, so each expert gets 2k assignments.
        // f_i = 2k / 8k = 1/4, P_i = 1/4: Switch = 4 x 4 x (1/4 x 1/4) = 1;
        // Group (G=2): E f_i = 1, f'_g = 1, P'_g = 1/2: 2 x (1 x 1/2) = 1.
        var probs = full(8, 4, 0.25f);
        var index = tensor(Enumerable.Range(0, 8).SelectMany(t => Enumerable.Range(0, topK).Select(j => (long)((t + j) % 4))).ToArray()).view(8, topK);
        var counts = index.reshape(-1).bincount(null, 4);
        var f = BalancingLosses.DispatchFraction(counts, 8L * topK);
        AssertClose(1.0, BalancingLosses.SwitchLoss(f, probs), 1e-6, "switch");
        AssertClose(1.0, BalancingLosses.GroupLoss(f, probs, 2), 1e-6, "group");
        // Equal gates per expert: importance CV^2 = 0; uniform distribution: entropy ln 4.
        var gates = full(8, topK, 1f / topK);
        AssertClose(0.0, BalancingLosses.ImportanceLoss(index, gates, 4), 1e-6, "importance");
        AssertClose(Math.Log(4), BalancingLosses.MeanEntropy(probs), 1e-6, "entropy");
    }

    [Fact]
    public void CollapsedRoutingGivesSwitchLossE()
    {
        using var scope = NewDisposeScope();
        // Every token top-1 on expert 0 with probability 1: f = [1,0,0,0], P = [1,0,0,0] -> 4 x 1 x 1 = 4 = E.
        var probs = tensor(new float[] { 1, 0, 0, 0 }).expand(6, 4).contiguous();
        var counts = tensor(new long[] { 6, 0, 0, 0 });
        AssertClose(4.0, BalancingLosses.SwitchLoss(BalancingLosses.DispatchFraction(counts, 6), probs), 1e-6, "switch");
        // Importance: [6, 0, 0, 0], mean 1.5, variance (4.5^2 + 3 x 1.5^2) / 4 = (20.25 + 6.75) / 4 = 6.75; CV^2 = 6.75 / 2.25 = 3.
        var index = zeros(6, 1, dtype: ScalarType.Int64);
        AssertClose(3.0, BalancingLosses.ImportanceLoss(index, ones(6, 1), 4), 1e-5, "importance");
    }

    [Fact]
    public void MoeLayerAuxLossIsWeightedSumOfItsLossesAndStatsCarryThem()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var c = Tiny("moe.balance={\"switch_weight\":0.5,\"importance_weight\":0.25,\"z_loss_weight\":2.0,\"group_weight\":0.125,\"groups\":2}");
        var layer = Layer(c, initStd: 0.5);
        var x = randn(2, 5, 8);
        var (_, aux) = layer.forward(x);

        // Recompute every loss from the router's own decision on the same tokens.
        var route = layer.Router.forward(x.reshape(-1, 8));
        var counts = route.ExpertIndex.reshape(-1).bincount(null, 4);
        var f = BalancingLosses.DispatchFraction(counts, 10 * 2);
        double sw = Scalar(BalancingLosses.SwitchLoss(f, route.Probs)),
            imp = Scalar(BalancingLosses.ImportanceLoss(route.ExpertIndex, route.Gates, 4)),
            z = Scalar(BalancingLosses.ZLoss(route.Logits)),
            grp = Scalar(BalancingLosses.GroupLoss(f, route.Probs, 2)),
            ent = Scalar(BalancingLosses.MeanEntropy(route.Probs));
        AssertClose(0.5 * sw + 0.25 * imp + 2.0 * z + 0.125 * grp, aux.AuxLoss, 1e-5, "aux");

        // Stats layout: E counts, then dropped, assignments, entropy, switch, importance, z, group, capacity.
        var stats = Floats(aux.Stats);
        Assert.Equal(4 + 8, stats.Length);
        Assert.Equal(Longs(counts).Select(v => (float)v), stats[..4]);
        // Dropless: nothing dropped, T k = 20 assignments, capacity = busiest expert's load.
        AssertClose([0, 20, ent, sw, imp, z, grp, Longs(counts).Max()], stats[4..], 1e-5, "stats");
    }
}
