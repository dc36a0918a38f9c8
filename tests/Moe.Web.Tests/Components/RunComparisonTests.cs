using System.Text.Json.Nodes;
using Bunit;
using Moe.Web.Apis;
using Moe.Web.Components.Compare;
using Moe.Web.Portal;
using MudBlazor.Services;

namespace Moe.Web.Tests.Components;

/// <summary>The compare page's numbers, computed by hand from two runs with known curves; layer averaging; missing metrics.</summary>
public sealed class RunComparisonTests : PortalComponentTest
{
    static CurveView Curve(string name, params (long Step, double? Value)[] points) => Curves.Of(name, points);

    static RunView Run(string id, string? config, long? lastStep = null, double? bestValLoss = null, string status = "succeeded") =>
        new(id, "exp", "proj", id.ToUpperInvariant(), status, 0, new RunResources(0, 0, 1), 0, 1, DateTime.UtcNow, null, null, null, lastStep, lastStep,
            bestValLoss, config is null ? null : JsonNode.Parse(config));

    // Run A: top-2 of 4 experts, Switch + z-loss balancing, 2 MoE layers.
    static readonly RunView A = Run("a", """
        {"model": {"moe": {"num_experts": 4, "top_k": 2,
          "router": {"score": "softmax", "gating": "top_k", "normalize_top_k": true},
          "capacity": {"train_factor": 1.25, "dropless": false, "drop_policy": "position"},
          "balance": {"switch_weight": 0.01, "z_loss_weight": 0.001}}}}
        """, lastStep: 3, bestValLoss: 2.3);
    static readonly IReadOnlyList<CurveView> ACurves =
    [
        Curve("loss", (1, 3.0), (2, 2.5), (3, 2.0)),
        Curve("val_loss", (1, 2.8), (2, 2.3), (3, 2.5)),             // final 2.5, best 2.3
        Curve("tokens_per_s", (1, 100), (2, 300), (3, 200), (4, 1000)), // median (200 + 300) / 2 = 250
        Curve("router.0.max_over_mean", (1, 1.5), (2, 1.4), (3, 1.2)),
        Curve("router.1.max_over_mean", (1, 1.7), (2, 1.6), (3, 1.4)), // last: (1.2 + 1.4) / 2 = 1.3
        Curve("router.0.drop_fraction", (1, 0.2), (3, 0.1)),
        Curve("router.1.drop_fraction", (1, 0.4), (3, 0.3)),           // last: (0.1 + 0.3) / 2 = 0.2
    ];

    // Run B: top-1 of 8 experts + 1 shared, sigmoid scores, dropless, aux-loss-free balancing, 1 MoE layer, no drop metric.
    static readonly RunView B = Run("b", """
        {"model": {"moe": {"num_experts": 8, "top_k": 1, "num_shared_experts": 1,
          "router": {"score": "sigmoid", "gating": "top_k", "normalize_top_k": false},
          "capacity": {"dropless": true},
          "balance": {"switch_weight": 0.0001, "aux_free": true, "aux_free_gamma": 0.002}}}}
        """, lastStep: 3, bestValLoss: 2.35);
    static readonly IReadOnlyList<CurveView> BCurves =
    [
        Curve("loss", (1, 3.1), (2, 2.6), (3, 2.2)),
        Curve("val_loss", (3, 2.35)),
        Curve("tokens_per_s", (1, 600), (2, 400), (3, 500)), // median 500
        Curve("router.0.max_over_mean", (1, 1.3), (2, null), (3, 1.1)),
    ];

    [Fact]
    public void Two_runs_give_the_hand_computed_table()
    {
        var comparison = new RunComparison([(A, ACurves), (B, BCurves)]);
        var (a, b) = (comparison.Rows[0], comparison.Rows[1]);

        Assert.Equal("a", a.RunId);
        Assert.Equal(2.5, a.FinalValLoss!.Value, 9);
        Assert.Equal(2.3, a.BestValLoss!.Value, 9);
        Assert.Equal(1.3, a.MaxOverMean!.Value, 9);
        Assert.Equal(0.2, a.DropFraction!.Value, 9);
        Assert.Equal(250, a.TokensPerSecond!.Value, 9);
        Assert.Equal(3, a.Steps);
        Assert.Equal(2, a.MoeLayers);
        Assert.Equal(new RoutingSetup("softmax top-k, normalized", 2, 4, 0, "×1.25 position", "switch 0.01 + z-loss 0.001"), a.Setup);

        Assert.Equal(2.35, b.FinalValLoss!.Value, 9);
        Assert.Equal(2.35, b.BestValLoss!.Value, 9);
        Assert.Equal(1.1, b.MaxOverMean!.Value, 9);
        Assert.Null(b.DropFraction);
        Assert.Equal(500, b.TokensPerSecond!.Value, 9);
        Assert.Equal(new RoutingSetup("sigmoid top-k", 1, 8, 1, "dropless", "switch 0.0001 + aux-free γ=0.002"), b.Setup);
        Assert.Equal("8 + 1 shared", b.Setup.ExpertsText);

        // Lowest losses, load and drops, highest throughput; a column only one run has a value in has no best.
        Assert.True(comparison.IsBest(CompareColumn.FinalValLoss, b));
        Assert.False(comparison.IsBest(CompareColumn.FinalValLoss, a));
        Assert.True(comparison.IsBest(CompareColumn.BestValLoss, a));
        Assert.True(comparison.IsBest(CompareColumn.MaxOverMean, b));
        Assert.True(comparison.IsBest(CompareColumn.TokensPerSecond, b));
        Assert.False(comparison.IsBest(CompareColumn.DropFraction, a));
        Assert.Equal(new HashSet<string> { "router", "top_k", "experts", "capacity", "balancing" }, comparison.Differing);

        // One colour per run, the same in every chart.
        var loss = comparison.Series(RunComparison.Loss);
        Assert.Equal(["A", "B"], loss.Select(s => s.Name));
        Assert.Equal([comparison.ColorOf("a"), comparison.ColorOf("b")], loss.Select(s => s.Color));
        Assert.NotEqual(comparison.ColorOf("a"), comparison.ColorOf("b"));
        Assert.Null(comparison.ColorOf("c"));
    }

    [Fact]
    public void The_balance_curve_is_the_mean_over_layers_at_the_steps_every_layer_has()
    {
        var balance = new RunComparison([(A, ACurves), (B, BCurves)]).BalanceSeries();
        Assert.Equal([1L, 2L, 3L], balance[0].Steps);
        Assert.Equal([1.6, 1.5, 1.3], balance[0].Values.Select(v => Math.Round(v!.Value, 9)));
        Assert.Equal([1L, 2L, 3L], balance[1].Steps);
        Assert.Equal([1.3, null, 1.1], balance[1].Values); // a missing value is a gap

        // Layers that logged at different steps: only the common ones, and a gap where one layer has no value.
        var (steps, values) = RunComparison.MeanAcrossLayers(
        [
            Curve("router.0.max_over_mean", (10, 1.0), (20, 2.0), (30, 3.0)),
            Curve("router.1.max_over_mean", (20, 4.0), (30, null), (40, 5.0)),
            Curve("router.1.entropy", (10, 0.5)),
            Curve("loss", (10, 9.0)),
        ], RunComparison.MaxOverMeanStat);
        Assert.Equal([20L, 30L], steps);
        Assert.Equal([3.0, null], values);
        Assert.Equal([0, 1, 5], RunComparison.MoeLayers(["router.5.load.3", "router.0.entropy", "router.1.drop_fraction", "router.x.entropy", "loss"]));
    }

    [Fact]
    public void Missing_metrics_and_config_give_nulls()
    {
        var bare = Run("c", null);
        var row = RunComparison.Summarize(bare, []);
        Assert.Null(row.FinalValLoss);
        Assert.Null(row.BestValLoss);
        Assert.Null(row.MaxOverMean);
        Assert.Null(row.DropFraction);
        Assert.Null(row.TokensPerSecond);
        Assert.Null(row.Steps);
        Assert.Equal(0, row.MoeLayers);
        Assert.Equal(RoutingSetup.Unknown, row.Setup);

        // Curves with no finite values count as missing; the run's best validation loss stands in for an empty curve.
        var empty = RunComparison.Summarize(Run("d", """{"model": {"d_model": 64}}""", bestValLoss: 3.25),
            [Curve("val_loss"), Curve("tokens_per_s", (1, double.NaN)), Curve("router.0.max_over_mean", (1, null)), Curve("loss", (7, 4.0))]);
        Assert.Null(empty.FinalValLoss);
        Assert.Equal(3.25, empty.BestValLoss);
        Assert.Null(empty.TokensPerSecond);
        Assert.Null(empty.MaxOverMean);
        Assert.Equal(7, empty.Steps); // from the loss curve when the run has no last step
        Assert.Equal("dense", empty.Setup.Router);

        var comparison = new RunComparison([(bare, []), (A, ACurves)]);
        Assert.All(Enum.GetValues<CompareColumn>(), c => Assert.False(comparison.IsBest(c, comparison.Rows[1]))); // nothing to beat
        Assert.DoesNotContain(comparison.BalanceSeries(), s => s.Name == "C");
        Assert.Null(RunComparison.Median([]));
        Assert.Equal(2.0, RunComparison.Median([3.0, null, 1.0, 2.0]));
    }

    [Fact]
    public void The_table_marks_the_best_cells_and_the_differing_setup()
    {
        var comparison = new RunComparison([(A, ACurves), (B, BCurves)]);
        var table = Context.Render<CompareTable>(p => p.Add(t => t.Comparison, comparison));

        var rowA = table.Find("[data-testid=compare-row-a]");
        var rowB = table.Find("[data-testid=compare-row-b]");
        Assert.Contains("switch 0.01 + z-loss 0.001", rowA.TextContent);
        Assert.Equal("2.5000", rowA.QuerySelector("[data-col=FinalValLoss]")!.TextContent.Trim());
        Assert.Equal("2.3000", rowA.QuerySelector("[data-col=BestValLoss]")!.TextContent.Trim());
        Assert.Equal("1.300", rowA.QuerySelector("[data-col=MaxOverMean]")!.TextContent.Trim());
        Assert.Equal("20.00 %", rowA.QuerySelector("[data-col=DropFraction]")!.TextContent.Trim());
        Assert.Equal("250", rowA.QuerySelector("[data-col=TokensPerSecond]")!.TextContent.Trim());
        Assert.Equal(["BestValLoss"], rowA.QuerySelectorAll("[data-best=true]").Select(c => c.GetAttribute("data-col")));
        Assert.Equal(["FinalValLoss", "MaxOverMean", "TokensPerSecond"], rowB.QuerySelectorAll("[data-best=true]").Select(c => c.GetAttribute("data-col")));
        Assert.Contains("Top-k ●", table.Find("[data-testid=compare-table] thead").TextContent);
    }
}
