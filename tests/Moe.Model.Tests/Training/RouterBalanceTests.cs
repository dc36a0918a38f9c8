using Moe.Model.Training;

namespace Moe.Model.Tests.Training;

/// <summary>Expert balance over evaluation batches: by hand, and against a per-token recount from the routing trace.</summary>
[Collection(MoeTestModels.Collection)]
public class RouterBalanceTests
{
    static RouterStats Stats(int layer, long[] counts, double dropped, double entropy) =>
        new(layer, counts, Capacity: 0, dropped, entropy, 0, 0, 0, 0, null);

    [Fact]
    public void CountsAddUpAndDropsAndEntropyAreWeightedByEachForwardsAssignments()
    {
        var balance = new RouterBalance();
        // Batch 1: layer 3 [2, 2], nothing dropped, entropy 1.0; layer 0 [6, 2] (8 assignments), 1/4 dropped, entropy 0.5.
        balance.Add([Stats(3, [2, 2], 0, 1.0), Stats(0, [6, 2], 0.25, 0.5)]);
        // Batch 2, smaller: layer 0 [1, 3] (4 assignments), 1/2 dropped, entropy 0.8.
        balance.Add([Stats(0, [1, 3], 0.5, 0.8)]);
        var layers = balance.Layers;
        Assert.Equal([0, 3], layers.Select(l => l.Layer));
        var l0 = layers[0];
        Assert.Equal([7 / 12.0, 5 / 12.0], l0.Load);
        Assert.Equal(7 / 6.0, l0.MaxOverMean, 12);           // 7 over a mean of 6
        Assert.Equal((2 + 2) / 12.0, l0.DropFraction, 12);    // 0.25 x 8 + 0.5 x 4 dropped of 12
        Assert.Equal((0.5 * 8 + 0.8 * 4) / 12, l0.Entropy, 12);
        Assert.Equal([0.5, 0.5], layers[1].Load);
        Assert.Equal(1.0, layers[1].MaxOverMean);

        var json = balance.ToJson();
        Assert.Equal(2, json.Count);
        Assert.Equal(0, (int)json[0]!["layer"]!);
        Assert.Equal(7 / 12.0, (double)json[0]!["load"]![0]!, 12);
        Assert.Equal(1 / 3.0, (double)json[0]!["drop_fraction"]!, 12);
    }

    /// <summary>
    /// Validation windows through <see cref="ValidationLoss"/> with a balance, while a <see cref="RoutingTrace"/> records
    /// every token: the summed RouterStats must say what the per-token records say, for the main blocks and the MTP block
    /// (which routes one position fewer per window), with a smaller last batch and capacity drops.
    /// </summary>
    [Fact]
    public void ValidationBalanceAgreesWithAPerTokenRecountOfTheSameForwards()
    {
        manual_seed(7);
        var config = MoeTestModels.Tiny("n_layers=2", "d_model=16", "vocab_size=32",
            "moe.capacity={\"train_factor\":1.0,\"eval_factor\":0.75}", "mtp={\"depth\":1}");
        using var model = new MoeTransformer(config);
        var windows = new long[5, 9];
        var rng = new Random(2);
        for (var i = 0; i < 5; i++)
            for (var t = 0; t < 9; t++) windows[i, t] = rng.Next(32);

        var plain = ValidationLoss.Compute(model, windows, batchSize: 2, CPU);
        var balance = new RouterBalance();
        double withBalance;
        IReadOnlyList<LayerRouting> records;
        using (var trace = RoutingTrace.Attach(model))
        {
            withBalance = ValidationLoss.Compute(model, windows, batchSize: 2, CPU, balance);
            records = trace.Take();
        }
        Assert.Equal(plain, withBalance);

        Assert.Equal([0, 1, 2], balance.Layers.Select(l => l.Layer));
        foreach (var layer in balance.Layers)
        {
            var mine = records.Where(r => r.Layer == layer.Layer).ToList();
            Assert.Equal(3, mine.Count); // batches of 2, 2 and 1 windows
            var assignments = mine.Sum(r => r.Experts.Length);
            for (var e = 0; e < 4; e++)
                Assert.Equal((double)mine.Sum(r => r.Experts.Count(x => x == e)) / assignments, layer.Load[e], 12);
            var dropped = mine.Sum(r => r.Kept.Count(k => !k));
            Assert.Equal((double)dropped / assignments, layer.DropFraction, 6);
            Assert.Equal(mine.SelectMany(r => r.Entropy).Average(e => (double)e), layer.Entropy, 5);
            if (layer.Layer < 2) Assert.True(dropped > 0, $"layer {layer.Layer}: eval capacity 0.75 should drop something");
        }
    }
}
