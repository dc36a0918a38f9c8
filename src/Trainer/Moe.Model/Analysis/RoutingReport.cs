using System.Text.Json.Nodes;
using Moe.Model.Training;

namespace Moe.Model.Analysis;

/// <summary>Routing statistics of one MoE layer over the analysed tokens (field meanings: docs/routing-analysis.md).</summary>
/// <param name="Tokens">Tokens this layer routed.</param>
/// <param name="Load">Each expert's share of the (token, expert) assignments, before capacity; sums to 1.</param>
/// <param name="MaxOverMean">Busiest expert's assignments over the mean (1 = balanced, E = collapsed).</param>
/// <param name="DropFraction">Dropped assignments over all assignments.</param>
/// <param name="Entropy">Mean entropy (nats) of the tokens' router distributions.</param>
public sealed record RoutingLayerReport(
    int Layer, long Tokens, double[] Load, double MaxOverMean, double DropFraction, double Entropy,
    IReadOnlyList<GroupShare> ByGroup, IReadOnlyList<ExpertTokens> TopTokens, ContextIndependence ContextIndependence,
    PositionDrops DropByPosition);

/// <summary>Expert shares of one group's assignments (Mixtral's per-domain expert assignment); all zero when it has no tokens.</summary>
public sealed record GroupShare(string Group, long Tokens, double[] Share);

/// <summary>The token ids an expert receives most often (OpenMoE's token-id specialisation).</summary>
public sealed record ExpertTokens(int Expert, IReadOnlyList<TokenCount> Tokens);

/// <param name="Count">Assignments of this id to the expert.</param>
/// <param name="RoutedShare">Count over the id's occurrences: the share of its occurrences that chose the expert.</param>
public sealed record TokenCount(int Id, long Count, double RoutedShare);

/// <param name="Consistency">Null when no id was seen <paramref name="MinOccurrences"/> times.</param>
/// <param name="Chance">1 / E: the consistency of routing that ignores the token id.</param>
public sealed record ContextIndependence(double? Consistency, double Chance, long TokensCounted, int MinOccurrences);

/// <param name="Fractions">Per bucket of positions: dropped over assigned; null for a bucket no token fell in.</param>
public sealed record PositionDrops(int BucketSize, double?[] Fractions);

/// <summary>The whole analysis: what was analysed, then one report per MoE layer.</summary>
/// <param name="CapacityFactor">Capacity factor in force, or null when the layers are dropless or soft-gated.</param>
public sealed record RoutingReport(
    string Checkpoint, long Step, int Documents, long Tokens, int SeqLen, int Experts, int TopK, string Capacity,
    double? CapacityFactor, IReadOnlyList<string> Groups, IReadOnlyList<RoutingLayerReport> Layers)
{
    /// <summary>The snake_case JSON of docs/routing-analysis.md; <paramref name="tokenText"/> spells a token id.</summary>
    public JsonObject ToJson(Func<int, string> tokenText) => new()
    {
        ["checkpoint"] = Checkpoint,
        ["step"] = Step,
        ["documents"] = Documents,
        ["tokens"] = Tokens,
        ["seq_len"] = SeqLen,
        ["experts"] = Experts,
        ["top_k"] = TopK,
        ["capacity"] = Capacity,
        ["capacity_factor"] = CapacityFactor,
        ["groups"] = Array(Groups.Select(g => (JsonNode?)g)),
        ["layers"] = Array(Layers.Select(l => (JsonNode?)Layer(l, tokenText))),
    };

    static JsonObject Layer(RoutingLayerReport l, Func<int, string> tokenText) => new()
    {
        ["layer"] = l.Layer,
        ["tokens"] = l.Tokens,
        ["load"] = Numbers(l.Load),
        ["max_over_mean"] = MetricsWriter.Value(l.MaxOverMean),
        ["drop_fraction"] = MetricsWriter.Value(l.DropFraction),
        ["entropy"] = MetricsWriter.Value(l.Entropy),
        ["by_group"] = Array(l.ByGroup.Select(g => (JsonNode?)new JsonObject
        {
            ["group"] = g.Group, ["tokens"] = g.Tokens, ["share"] = Numbers(g.Share),
        })),
        ["top_tokens"] = Array(l.TopTokens.Select(e => (JsonNode?)new JsonObject
        {
            ["expert"] = e.Expert,
            ["tokens"] = Array(e.Tokens.Select(t => (JsonNode?)new JsonObject
            {
                ["id"] = t.Id, ["text"] = tokenText(t.Id), ["count"] = t.Count, ["routed_share"] = t.RoutedShare,
            })),
        })),
        ["context_independence"] = new JsonObject
        {
            ["consistency"] = l.ContextIndependence.Consistency,
            ["chance"] = l.ContextIndependence.Chance,
            ["tokens_counted"] = l.ContextIndependence.TokensCounted,
            ["min_occurrences"] = l.ContextIndependence.MinOccurrences,
        },
        ["drop_by_position"] = new JsonObject
        {
            ["bucket_size"] = l.DropByPosition.BucketSize,
            ["fractions"] = Array(l.DropByPosition.Fractions.Select(f => f is { } v ? JsonValue.Create(v) : (JsonNode?)null)),
        },
    };

    static JsonArray Numbers(IEnumerable<double> values) => Array(values.Select(MetricsWriter.Value));

    static JsonArray Array(IEnumerable<JsonNode?> nodes) => new(nodes.ToArray());
}
