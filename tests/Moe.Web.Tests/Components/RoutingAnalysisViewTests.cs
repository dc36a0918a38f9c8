using System.Text.Json.Nodes;
using Moe.Web.Components.Evaluations;
using Moe.Web.Portal;

namespace Moe.Web.Tests.Components;

/// <summary>
/// The routing-analysis page's mapping from the stored JSON (docs/routing-analysis.md) to its matrices and tables, and
/// the evaluation results' expansion: what is there is read, what is missing or malformed is empty, never an exception.
/// </summary>
public sealed class RoutingAnalysisViewTests
{
    // Two layers of three experts, two groups (listed out of order in layer 1), the documented fields.
    const string Sample = """
        { "checkpoint": "/x/checkpoints/step-00000600", "step": 600, "documents": 20, "tokens": 2560, "seq_len": 128, "experts": 3, "top_k": 2,
          "capacity": "train", "capacity_factor": 1.25, "dataset": "dataset:brown@2", "groups": ["adventure", "humor"],
          "layers": [
            { "layer": 1, "tokens": 2560, "load": [0.5, 0.3, 0.2], "max_over_mean": 1.5, "drop_fraction": 0.01, "entropy": 0.9,
              "by_group": [ { "group": "adventure", "tokens": 1280, "share": [0.6, 0.3, 0.1] },
                            { "group": "humor", "tokens": 1280, "share": [0.4, 0.3, 0.3] } ],
              "top_tokens": [ { "expert": 0, "tokens": [ { "id": 57, "text": ".", "count": 300, "routed_share": 1 },
                                                          { "id": 9, "text": " the", "count": 120, "routed_share": 0.4 } ] },
                              { "expert": 2, "tokens": [] } ],
              "context_independence": { "consistency": 0.9, "chance": 0.3333333333, "tokens_counted": 2400, "min_occurrences": 5 },
              "drop_by_position": { "bucket_size": 32, "fractions": [0.0, 0.01, null, 0.03] } },
            { "layer": 3, "tokens": 2560, "load": [0.34, 0.33, 0.33], "max_over_mean": 1.02, "drop_fraction": 0, "entropy": 1.09,
              "by_group": [ { "group": "humor", "tokens": 0, "share": [0, 0, 0] }, { "group": "adventure", "tokens": 2560, "share": [0.34, 0.33, 0.33] } ],
              "top_tokens": [], "context_independence": { "consistency": null, "chance": 0.3333333333, "tokens_counted": 0, "min_occurrences": 5 },
              "drop_by_position": { "bucket_size": 32, "fractions": [0, 0, 0, 0] } } ] }
        """;

    [Fact]
    public void The_documented_shape_becomes_per_layer_matrices_and_tables()
    {
        var report = RoutingAnalysisReport.Parse(Sample);

        Assert.Equal(600, report.Step);
        Assert.Equal(20, report.Documents);
        Assert.Equal(2560, report.Tokens);
        Assert.Equal(128, report.SeqLen);
        Assert.Equal(3, report.Experts);
        Assert.Equal(2, report.TopK);
        Assert.Equal("train", report.Capacity);
        Assert.Equal(1.25, report.CapacityFactor);
        Assert.Equal("dataset:brown@2", report.Dataset);
        Assert.Equal(["adventure", "humor"], report.Groups);
        Assert.Equal(Math.Log(3), report.UniformEntropy!.Value, 12);
        Assert.Equal([1, 3], report.Layers.Select(l => l.Layer));

        var first = report.Layer(1)!;
        Assert.Equal([0.5, 0.3, 0.2], first.Load);
        Assert.Equal((1.5, 0.01, 0.9), (first.MaxOverMean, first.DropFraction, first.Entropy));
        // Groups × experts, in the groups' order.
        Assert.Equal(["adventure", "humor"], first.ByGroup.Select(g => g.Group));
        Assert.Equal([[0.6, 0.3, 0.1], [0.4, 0.3, 0.3]], first.ShareMatrix.Select(r => r.ToArray()));
        // Top tokens per expert, in expert order; an expert without tokens keeps its (empty) table.
        Assert.Equal([0, 2], first.TopTokens.Select(t => t.Expert));
        var period = first.TokensOf(0)[0];
        Assert.Equal((57L, ".", 300L, (double?)1.0), (period.Id, period.Text, period.Count, period.RoutedShare));
        Assert.Equal("␣the", first.TokensOf(0)[1].Shown);
        Assert.Empty(first.TokensOf(1));
        Assert.Empty(first.TokensOf(2));
        var independence = first.ContextIndependence!;
        Assert.Equal(0.9, independence.Consistency);
        Assert.Equal(2400, independence.TokensCounted);
        Assert.Equal(5, independence.MinOccurrences);
        Assert.Equal(2.7, independence.OverChance!.Value, 6);
        // Drops by position: a bucket no token fell in stays null; labels name the positions.
        Assert.Equal(32, first.BucketSize);
        Assert.Equal([0.0, 0.01, null, 0.03], first.DropByPosition);
        Assert.Equal(["0–31", "32–63", "64–95", "96–127"], first.PositionLabels);

        var second = report.Layer(3)!;
        Assert.Equal(["adventure", "humor"], second.ByGroup.Select(g => g.Group)); // reordered to the documented order
        Assert.Equal([2560L, 0L], second.ByGroup.Select(g => g.Tokens));
        Assert.Empty(second.TopTokens);
        Assert.Null(second.ContextIndependence!.Consistency); // no id seen often enough
        Assert.Null(second.ContextIndependence.OverChance);
        Assert.Null(report.Layer(0));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("{}")]
    [InlineData("""{ "layers": "none" }""")]
    public void Missing_or_malformed_results_are_empty(string? json)
    {
        var report = RoutingAnalysisReport.Parse(json);
        Assert.True(report.IsEmpty);
        Assert.Empty(report.Groups);
        Assert.Equal(0, report.Experts);
        Assert.Null(report.UniformEntropy);
    }

    [Fact]
    public void A_layer_missing_its_optional_parts_has_empty_ones()
    {
        var report = RoutingAnalysisReport.Parse(JsonNode.Parse("""
            { "experts": 4, "layers": [ { "load": [0.25, "x", 0.25] }, { "layer": 5, "by_group": [ { "share": [1] } ], "top_tokens": [ { "tokens": [] }, { "expert": 1, "tokens": [ {} ] } ],
              "drop_by_position": { "fractions": [0.5] } } ] }
            """));

        Assert.Equal(4, report.Experts);
        Assert.Empty(report.Groups);
        var first = report.Layers[0];
        Assert.Equal(0, first.Layer); // its index when the field is missing
        Assert.Equal([0.25, null, 0.25, null], first.Load); // padded to E, a non-number is null
        Assert.Null(first.MaxOverMean);
        Assert.Empty(first.ByGroup);
        Assert.Empty(first.ShareMatrix);
        Assert.Empty(first.TopTokens);
        Assert.Null(first.ContextIndependence);
        Assert.Null(first.BucketSize);
        Assert.Empty(first.DropByPosition);
        Assert.Empty(first.PositionLabels);

        var second = report.Layers[1];
        Assert.Equal(5, second.Layer);
        var group = Assert.Single(second.ByGroup);
        Assert.Equal(("?", 0L), (group.Group, group.Tokens));
        Assert.Equal([1.0, null, null, null], group.Share);
        var expert = Assert.Single(second.TopTokens); // the entry without an expert is left out
        Assert.Equal(1, expert.Expert);
        Assert.Equal((-1L, "", 0L, (double?)null), (expert.Tokens[0].Id, expert.Tokens[0].Text, expert.Tokens[0].Count, expert.Tokens[0].RoutedShare));
        Assert.Equal("∅", expert.Tokens[0].Shown);
        Assert.Equal(["0"], second.PositionLabels); // no bucket size: the bucket index
    }

    [Fact]
    public void The_experts_count_falls_back_to_the_longest_load()
    {
        var report = RoutingAnalysisReport.Parse("""{ "layers": [ { "layer": 0, "load": [0.5, 0.5] }, { "layer": 1, "load": [0.2, 0.3, 0.5] } ] }""");
        Assert.Equal(3, report.Experts);
        Assert.Equal([0.5, 0.5, null], report.Layers[0].Load);
    }
}

/// <summary>An evaluation's results JSON (docs/evaluation.md) as its expanded row shows it.</summary>
public sealed class RoutingAnalysisViewEvaluationResultsTests
{
    [Fact]
    public void Per_layer_balance_and_arithmetic_examples_are_read()
    {
        var results = EvaluationResults.Parse(JsonNode.Parse("""
            { "step": 8, "data": "dataset:d@1", "windows": 8, "val_loss": 5.1,
              "router": [ { "layer": 0, "load": [0.6, 0.4], "max_over_mean": 1.2, "drop_fraction": 0, "entropy": 0.67 },
                          { "layer": 1, "load": [0.5, 0.5], "max_over_mean": 1.0, "drop_fraction": 0.01, "entropy": 0.69 } ],
              "arithmetic": { "problems": 2, "correct": 1, "exact_match": 0.5,
                              "examples": [ { "prompt": "Question: What is 1 + 1?\nAnswer:", "completion": " 2", "answer": "2", "predicted": 2, "correct": true },
                                            { "prompt": "Question: What is 2 * 3?\nAnswer:", "completion": " cat", "answer": "6", "predicted": null, "correct": false } ] } }
            """));

        Assert.Equal("dataset:d@1", results.Data);
        Assert.Equal(8, results.Windows);
        Assert.Equal([0, 1], results.Router.Select(l => l.Layer));
        Assert.Equal([0.6, 0.4], results.Router[0].Load);
        Assert.Equal(0.01, results.Router[1].DropFraction);
        var arithmetic = results.Arithmetic!;
        Assert.Equal((2, 1, 0.5), (arithmetic.Problems!.Value, arithmetic.Correct!.Value, arithmetic.ExactMatch!.Value));
        Assert.Equal([true, false], arithmetic.Examples.Select(e => e.Correct));
        Assert.Equal([2L, null], arithmetic.Examples.Select(e => e.Predicted));
        Assert.Equal(" cat", arithmetic.Examples[1].Completion);
    }

    [Fact]
    public void Arithmetic_only_or_missing_results_have_no_balance()
    {
        var arithmeticOnly = EvaluationResults.Parse(JsonNode.Parse("""{ "step": 4, "arithmetic": { "problems": 3, "correct": 0, "exact_match": 0 } }"""));
        Assert.Empty(arithmeticOnly.Router);
        Assert.Null(arithmeticOnly.Data);
        Assert.Empty(arithmeticOnly.Arithmetic!.Examples);

        var none = EvaluationResults.Parse(null);
        Assert.Empty(none.Router);
        Assert.Null(none.Arithmetic);
    }
}
