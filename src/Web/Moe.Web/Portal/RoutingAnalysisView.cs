using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Web.Portal;

/// <summary>
/// What the routing-analysis page draws, read from the JSON <c>moe-trainer analyze routing</c> writes
/// (docs/routing-analysis.md). Lenient: a missing or malformed part becomes empty or null, never an exception, so a
/// page shows what there is. (Named Report: <c>Apis.RoutingAnalysisView</c> is the API's row.)
/// </summary>
public sealed record RoutingAnalysisReport(
    long? Step, int? Documents, long? Tokens, int? SeqLen, int Experts, int? TopK, string? Capacity, double? CapacityFactor, string? Checkpoint,
    string? Dataset, IReadOnlyList<string> Groups, IReadOnlyList<RoutingLayer> Layers)
{
    public static readonly RoutingAnalysisReport Empty = new(null, null, null, null, 0, null, null, null, null, null, [], []);

    public bool IsEmpty => Layers.Count == 0;

    /// <summary>ln E: the router entropy of a uniform choice (null without experts).</summary>
    public double? UniformEntropy => Experts > 0 ? Math.Log(Experts) : null;

    public RoutingLayer? Layer(int layer) => Layers.FirstOrDefault(l => l.Layer == layer);

    public static RoutingAnalysisReport Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return Empty;
        try
        {
            return Parse(JsonNode.Parse(json));
        }
        catch (JsonException)
        {
            return Empty;
        }
    }

    public static RoutingAnalysisReport Parse(JsonNode? results)
    {
        if (results is not JsonObject root) return Empty;
        var layersJson = JsonRead.Array(root["layers"]);
        int experts = JsonRead.Int(root["experts"]) is { } e and > 0 ? e
            : layersJson.Select(l => JsonRead.Array(l?["load"]).Count).DefaultIfEmpty(0).Max();
        var groups = JsonRead.Array(root["groups"]).Select(JsonRead.Text).OfType<string>().ToList();
        var layers = layersJson.OfType<JsonObject>().Select((l, i) => RoutingLayer.Parse(l, i, experts, groups)).ToList();
        return new RoutingAnalysisReport(JsonRead.Long(root["step"]), JsonRead.Int(root["documents"]), JsonRead.Long(root["tokens"]), JsonRead.Int(root["seq_len"]),
            experts, JsonRead.Int(root["top_k"]), JsonRead.Text(root["capacity"]), JsonRead.Double(root["capacity_factor"]), JsonRead.Text(root["checkpoint"]),
            JsonRead.Text(root["dataset"]), groups, layers);
    }
}

/// <summary>One MoE layer of an analysis: its load, how each group shares it out, the tokens each expert takes, drops by position.</summary>
public sealed record RoutingLayer(
    int Layer, long? Tokens, IReadOnlyList<double?> Load, double? MaxOverMean, double? DropFraction, double? Entropy,
    IReadOnlyList<GroupShare> ByGroup, IReadOnlyList<ExpertTokens> TopTokens, ContextIndependence? ContextIndependence,
    int? BucketSize, IReadOnlyList<double?> DropByPosition)
{
    /// <summary>The groups × experts matrix of shares (rows in <see cref="ByGroup"/> order, every row E long; null where absent).</summary>
    public IReadOnlyList<IReadOnlyList<double?>> ShareMatrix => ByGroup.Select(g => g.Share).ToList();

    /// <summary>"0–15", "16–31", ...: the window positions of each drop bucket (the bucket index when the size is unknown).</summary>
    public IReadOnlyList<string> PositionLabels => DropByPosition.Select((_, b) => BucketSize is { } size and > 0
        ? $"{b * size}–{(b + 1) * size - 1}" : b.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();

    /// <summary>The expert's top tokens, or none.</summary>
    public IReadOnlyList<TopToken> TokensOf(int expert) => TopTokens.FirstOrDefault(t => t.Expert == expert)?.Tokens ?? [];

    internal static RoutingLayer Parse(JsonObject layer, int index, int experts, IReadOnlyList<string> groups)
    {
        var load = JsonRead.Doubles(layer["load"], experts);
        var byGroup = JsonRead.Array(layer["by_group"]).OfType<JsonObject>()
            .Select(g => new GroupShare(JsonRead.Text(g["group"]) ?? "?", JsonRead.Long(g["tokens"]) ?? 0, JsonRead.Doubles(g["share"], experts))).ToList();
        // Keep the documented order (the top-level groups), whatever order the rows came in.
        var order = groups.Select((g, i) => (g, i)).ToDictionary(x => x.g, x => x.i, StringComparer.Ordinal);
        byGroup = byGroup.OrderBy(g => order.TryGetValue(g.Group, out var i) ? i : int.MaxValue).ToList();
        var topTokens = JsonRead.Array(layer["top_tokens"]).OfType<JsonObject>()
            .Select(t => new ExpertTokens(JsonRead.Int(t["expert"]) ?? -1, JsonRead.Array(t["tokens"]).OfType<JsonObject>()
                .Select(x => new TopToken(JsonRead.Long(x["id"]) ?? -1, JsonRead.Text(x["text"]) ?? "", JsonRead.Long(x["count"]) ?? 0, JsonRead.Double(x["routed_share"])))
                .ToList()))
            .Where(t => t.Expert >= 0).OrderBy(t => t.Expert).ToList();
        ContextIndependence? independence = layer["context_independence"] is JsonObject ci
            ? new ContextIndependence(JsonRead.Double(ci["consistency"]), JsonRead.Double(ci["chance"]) ?? (experts > 0 ? 1.0 / experts : null),
                JsonRead.Long(ci["tokens_counted"]), JsonRead.Int(ci["min_occurrences"]))
            : null;
        var drops = layer["drop_by_position"] as JsonObject;
        return new RoutingLayer(JsonRead.Int(layer["layer"]) ?? index, JsonRead.Long(layer["tokens"]), load, JsonRead.Double(layer["max_over_mean"]),
            JsonRead.Double(layer["drop_fraction"]), JsonRead.Double(layer["entropy"]), byGroup, topTokens, independence,
            JsonRead.Int(drops?["bucket_size"]), JsonRead.Doubles(drops?["fractions"], 0));
    }
}

/// <summary>A document group's tokens in the analysis and its share of the layer's assignments per expert (E values).</summary>
public sealed record GroupShare(string Group, long Tokens, IReadOnlyList<double?> Share);

/// <summary>The token ids an expert receives most, most first.</summary>
public sealed record ExpertTokens(int Expert, IReadOnlyList<TopToken> Tokens);

/// <summary>A token id sent to an expert: its text, how often, and the share of the id's occurrences that chose this expert.</summary>
public sealed record TopToken(long Id, string Text, long Count, double? RoutedShare)
{
    /// <summary>The text with its spaces and line breaks visible (" the" → "␣the").</summary>
    public string Shown => Text.Length == 0 ? "∅" : Text.Replace(" ", "␣").Replace("\n", "↵").Replace("\t", "⇥").Replace("\r", "");
}

/// <summary>OpenMoE's context-independent specialisation: how often a token's top-1 expert is its id's usual one, against chance (1/E).</summary>
public sealed record ContextIndependence(double? Consistency, double? Chance, long? TokensCounted, int? MinOccurrences)
{
    /// <summary>Consistency over chance (1: no better than chance; E: fully decided by the id).</summary>
    public double? OverChance => Consistency is { } c && Chance is { } p && p > 0 ? c / p : null;
}
