using Moe.Web.Apis;
using Moe.Web.Portal;

namespace Moe.Web.Tests.Components;

/// <summary>The expert-load heatmap's mapping from router curves to an experts × steps matrix, and router metric names.</summary>
public sealed class ExpertLoadMatrixTests
{
    static CurveView Curve(string name, params (long Step, double? Value)[] points) => Curves.Of(name, points);

    [Fact]
    public void Two_layers_of_three_experts_with_ragged_steps_become_one_matrix_per_layer()
    {
        CurveView[] curves =
        [
            // Layer 1 listed first and its experts out of order: the result is by layer, then expert.
            Curve("router.1.load.2", (10, 0.2), (20, 0.3)),
            Curve("router.1.load.0", (10, 0.5), (20, 0.4)),
            Curve("router.1.load.1", (10, 0.3), (20, 0.3)),
            // Layer 0: expert 1 has no point at step 20, expert 2 one extra step (30) the others lack.
            Curve("router.0.load.0", (10, 0.6), (20, 0.5)),
            Curve("router.0.load.1", (10, 0.3)),
            Curve("router.0.load.2", (10, 0.1), (20, 0.5), (30, 0.25)),
            // Not loads: ignored by the matrix.
            Curve("router.0.entropy", (10, 1.0), (20, 1.0)),
            Curve("router.0.bias.0", (10, 0.01)),
            Curve("loss", (10, 3.0), (40, 2.0)),
        ];

        var matrices = ExpertLoadMatrix.FromCurves(curves);

        Assert.Equal([0, 1], matrices.Select(m => m.Layer));
        var layer0 = matrices[0];
        Assert.Equal([0, 1, 2], layer0.Experts);
        Assert.Equal([10L, 20L, 30L], layer0.Steps); // the union of the experts' steps, not the entropy's or the loss's
        Assert.Equal([0.6, 0.5, null], layer0.Shares[0]);
        Assert.Equal([0.3, null, null], layer0.Shares[1]);
        Assert.Equal([0.1, 0.5, 0.25], layer0.Shares[2]);
        Assert.Null(layer0[1, 1]); // expert 1 at step 20
        Assert.Equal(9, layer0.CellCount);
        Assert.Equal(6, layer0.FilledCells);

        var layer1 = matrices[1];
        Assert.Equal([0, 1, 2], layer1.Experts);
        Assert.Equal([10L, 20L], layer1.Steps);
        Assert.Equal([0.5, 0.4], layer1.Shares[0]);
        Assert.Equal([0.3, 0.3], layer1.Shares[1]);
        Assert.Equal([0.2, 0.3], layer1.Shares[2]);
        Assert.Equal(6, layer1.FilledCells);
        // Each column of a layer's shares adds up to 1 where every expert has a value.
        Assert.Equal(1.0, layer1.Shares.Sum(row => row[0]!.Value), 9);
    }

    [Fact]
    public void Experts_and_layers_are_ordered_numerically_not_lexically()
    {
        var curves = new[] { 10, 2, 1, 0, 11 }.Select(e => Curve($"router.10.load.{e}", (5, e / 100.0)))
            .Concat([Curve("router.2.load.0", (5, 1.0))]).ToList();

        var matrices = ExpertLoadMatrix.FromCurves(curves);

        Assert.Equal([2, 10], matrices.Select(m => m.Layer)); // "10" < "2" as text
        Assert.Equal([0, 1, 2, 10, 11], matrices[1].Experts);
        Assert.Equal([0.0, 0.01, 0.02, 0.10, 0.11], matrices[1].Shares.Select(row => row[0]!.Value));
        Assert.Equal([2, 10], RouterMetric.Layers(curves.Select(c => c.Name)));
    }

    [Fact]
    public void A_layer_without_loads_is_empty_and_non_finite_or_missing_values_are_null()
    {
        CurveView[] curves = [Curve("router.0.load.0", (1, null), (2, double.NaN), (3, 0.5)), Curve("router.0.load.1", (3, double.PositiveInfinity))];

        var layer0 = ExpertLoadMatrix.ForLayer(curves, 0);
        Assert.Equal([1L, 2L, 3L], layer0.Steps);
        Assert.Equal([null, null, 0.5], layer0.Shares[0]);
        Assert.Equal([null, null, null], layer0.Shares[1]);
        Assert.Equal(1, layer0.FilledCells);

        var layer3 = ExpertLoadMatrix.ForLayer(curves, 3);
        Assert.True(layer3.IsEmpty);
        Assert.Equal(0, layer3.CellCount);
        Assert.Empty(ExpertLoadMatrix.FromCurves([Curve("loss", (1, 2.0)), Curve("router.0.entropy", (1, 1.0))]));
    }

    [Theory]
    [InlineData("router.0.load.3", 0, RouterMetricKind.Load, 3)]
    [InlineData("router.12.load.10", 12, RouterMetricKind.Load, 10)]
    [InlineData("router.1.bias.7", 1, RouterMetricKind.Bias, 7)]
    [InlineData("router.3.max_over_mean", 3, RouterMetricKind.MaxOverMean, null)]
    [InlineData("router.3.drop_fraction", 3, RouterMetricKind.DropFraction, null)]
    [InlineData("router.0.entropy", 0, RouterMetricKind.Entropy, null)]
    public void Router_metric_names_are_parsed(string name, int layer, RouterMetricKind kind, int? expert)
    {
        var metric = RouterMetric.Parse(name);
        Assert.NotNull(metric);
        Assert.Equal((name, layer, kind, expert), (metric.Name, metric.Layer, metric.Kind, metric.Expert));
    }

    [Theory]
    [InlineData("loss")]
    [InlineData("aux.switch")]
    [InlineData("router")]
    [InlineData("router.")]
    [InlineData("router.0")]
    [InlineData("router.x.entropy")]
    [InlineData("router.-1.entropy")]
    [InlineData("router.+1.entropy")]
    [InlineData("router. 1.entropy")]
    [InlineData("router.0.load")]
    [InlineData("router.0.load.")]
    [InlineData("router.0.load.x")]
    [InlineData("router.0.load.1.2")]
    [InlineData("router.0.load.-1")]
    [InlineData("router.0.entropy.1")]
    [InlineData("router.0.weight.1")]
    [InlineData("router.0.Entropy")]
    [InlineData("Router.0.entropy")]
    [InlineData("router.99999999999.entropy")]
    [InlineData(null)]
    public void Other_names_are_not_router_metrics(string? name) => Assert.Null(RouterMetric.Parse(name));

    [Fact]
    public void Names_of_a_kind_come_by_layer_and_expert()
    {
        string[] names =
        [
            "loss", "router.1.load.10", "router.1.load.2", "router.0.load.1", "router.0.load.0", "router.1.entropy", "router.0.entropy",
            "router.1.bias.1", "router.1.bias.0", "val_loss",
        ];

        Assert.Equal([0, 1], RouterMetric.Layers(names));
        Assert.Equal(["router.0.load.0", "router.0.load.1", "router.1.load.2", "router.1.load.10"], RouterMetric.Names(names, RouterMetricKind.Load));
        Assert.Equal(["router.1.load.2", "router.1.load.10"], RouterMetric.Names(names, RouterMetricKind.Load, 1));
        Assert.Equal(["router.0.entropy", "router.1.entropy"], RouterMetric.Names(names, RouterMetricKind.Entropy));
        Assert.Equal(["router.1.bias.0", "router.1.bias.1"], RouterMetric.Names(names, RouterMetricKind.Bias, 1));
        Assert.Empty(RouterMetric.Names(names, RouterMetricKind.Bias, 0));
        Assert.Empty(RouterMetric.Layers(["loss", "aux.z"]));
    }
}
