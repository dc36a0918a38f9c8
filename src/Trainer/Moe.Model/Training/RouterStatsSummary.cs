using System.Text.Json.Nodes;
using Moe.Model.Model;

namespace Moe.Model.Training;

/// <summary>Router statistics over the micro-batches of one optimiser step, and their JSON form in the metrics log.</summary>
public static class RouterStatsSummary
{
    /// <summary>Per layer: token counts summed, the other statistics averaged over micro-batches.</summary>
    public static IReadOnlyList<RouterStats> Merge(IReadOnlyList<IReadOnlyList<RouterStats>> microBatches)
    {
        if (microBatches.Count == 1) return microBatches[0];
        return microBatches.SelectMany(m => m).GroupBy(s => s.Layer).OrderBy(g => g.Key).Select(g =>
        {
            var all = g.ToList();
            var counts = new long[all[0].TokensPerExpert.Length];
            foreach (var s in all) for (var e = 0; e < counts.Length; e++) counts[e] += s.TokensPerExpert[e];
            return new RouterStats(g.Key, counts, all[^1].Capacity, all.Average(s => s.DroppedFraction), all.Average(s => s.MeanRouterEntropy),
                all.Average(s => s.SwitchLoss), all.Average(s => s.ImportanceLoss), all.Average(s => s.ZLoss), all.Average(s => s.GroupLoss), all[^1].Bias);
        }).ToList();
    }

    /// <summary>The unweighted balancing losses summed over layers, by kind.</summary>
    public static JsonObject AuxLosses(IReadOnlyList<RouterStats> stats) => new()
    {
        ["switch"] = MetricsWriter.Value(stats.Sum(s => s.SwitchLoss)),
        ["importance"] = MetricsWriter.Value(stats.Sum(s => s.ImportanceLoss)),
        ["z"] = MetricsWriter.Value(stats.Sum(s => s.ZLoss)),
        ["group"] = MetricsWriter.Value(stats.Sum(s => s.GroupLoss)),
    };

    /// <summary>One object per MoE layer: load as each expert's share of assignments, drop fraction, entropy, bias.</summary>
    public static JsonArray ToJson(IReadOnlyList<RouterStats> stats)
    {
        var layers = new JsonArray();
        foreach (var s in stats)
        {
            var total = (double)s.TokensPerExpert.Sum();
            var load = new JsonArray(s.TokensPerExpert.Select(c => (JsonNode?)JsonValue.Create(total == 0 ? 0f : (float)(c / total))).ToArray());
            layers.Add(new JsonObject
            {
                ["layer"] = s.Layer,
                ["load"] = load,
                ["max_over_mean"] = MetricsWriter.Value((float)s.MaxOverMeanLoad),
                ["drop_fraction"] = MetricsWriter.Value((float)s.DroppedFraction),
                ["entropy"] = MetricsWriter.Value((float)s.MeanRouterEntropy),
                ["capacity"] = s.Capacity,
                ["bias"] = s.Bias is { } b ? new JsonArray(b.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()) : null,
            });
        }
        return layers;
    }
}
