using System.Text.Json.Nodes;
using Moe.Model.Model;

namespace Moe.Model.Training;

/// <summary>Expert balance of one MoE layer over many forward passes.</summary>
/// <param name="Load">Each expert's share of the (token, expert) assignments, before capacity; sums to 1.</param>
/// <param name="MaxOverMean">Busiest expert's assignments over the mean (1 = balanced, E = collapsed).</param>
/// <param name="DropFraction">Dropped assignments over all assignments.</param>
/// <param name="Entropy">Mean entropy (nats) of the tokens' router distributions.</param>
public sealed record LayerBalance(int Layer, double[] Load, double MaxOverMean, double DropFraction, double Entropy);

/// <summary>
/// Sums the <see cref="RouterStats"/> of many forwards (evaluation batches) into one balance per layer: assignment counts
/// add up; the drop fraction and entropy of each forward are weighted by its assignments (tokens x k), so a smaller last
/// batch counts for what it holds.
/// </summary>
public sealed class RouterBalance
{
    readonly SortedDictionary<int, (long[] Counts, double Dropped, double EntropyWeighted, long Assignments)> layers = [];

    public void Add(IReadOnlyList<RouterStats> stats)
    {
        foreach (var s in stats)
        {
            var assignments = s.TokensPerExpert.Sum();
            var (counts, dropped, entropy, total) = layers.GetValueOrDefault(s.Layer, (new long[s.TokensPerExpert.Length], 0, 0, 0));
            for (var e = 0; e < counts.Length; e++) counts[e] += s.TokensPerExpert[e];
            layers[s.Layer] = (counts, dropped + s.DroppedFraction * assignments, entropy + s.MeanRouterEntropy * assignments, total + assignments);
        }
    }

    public IReadOnlyList<LayerBalance> Layers => layers.Select(p =>
    {
        var (counts, dropped, entropy, total) = p.Value;
        var mean = (double)total / counts.Length;
        return new LayerBalance(p.Key, counts.Select(c => total == 0 ? 0 : (double)c / total).ToArray(),
            mean == 0 ? 0 : counts.Max() / mean, total == 0 ? 0 : dropped / total, total == 0 ? 0 : entropy / total);
    }).ToList();

    /// <summary><c>[{layer, load, max_over_mean, drop_fraction, entropy}]</c>, as docs/evaluation.md describes.</summary>
    public JsonArray ToJson() => new(Layers.Select(l => (JsonNode?)new JsonObject
    {
        ["layer"] = l.Layer,
        ["load"] = new JsonArray(l.Load.Select(MetricsWriter.Value).ToArray()),
        ["max_over_mean"] = MetricsWriter.Value(l.MaxOverMean),
        ["drop_fraction"] = MetricsWriter.Value(l.DropFraction),
        ["entropy"] = MetricsWriter.Value(l.Entropy),
    }).ToArray());
}
