using static Moe.Web.Portal.JsonRead;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Moe.Web.Apis;
using Moe.Web.Components.Charts;
using Moe.Web.Components.Layout;

namespace Moe.Web.Portal;

/// <summary>
/// How a run routes and balances, read from its config's <c>model.moe</c> (the trainer's defaults where a field is
/// absent). Router: "softmax top-k, normalized", "sigmoid top-k", "softmax soft"; "dense" without MoE layers; "—"
/// without a config. Capacity: "dropless", "×1.25 position", or "—" (soft gating and dense models drop nothing).
/// Balancing: the terms with their weights ("switch 0.01 + z-loss 0.001", "aux-free γ=0.001"), or "none".
/// </summary>
public sealed record RoutingSetup(string Router, int? TopK, int? Experts, int SharedExperts, string Capacity, string Balancing)
{
    public static readonly RoutingSetup Unknown = new("—", null, null, 0, "—", "—");

    public string ExpertsText => Experts is null ? "—" : SharedExperts > 0 ? $"{Experts} + {SharedExperts} shared" : Experts.Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// One row of the comparison: a run's routing setup and the numbers its metrics give. FinalValLoss: the last
/// <c>val_loss</c>; BestValLoss: the lowest. MaxOverMean: the mean over MoE layers of each layer's last
/// <c>router.L.max_over_mean</c> (1 is perfectly balanced); DropFraction likewise of <c>router.L.drop_fraction</c>;
/// TokensPerSecond: the median of the <c>tokens_per_s</c> curve's values.
/// </summary>
public sealed record RunSummary(string RunId, string Name, string Status, RoutingSetup Setup, double? FinalValLoss, double? BestValLoss,
    double? MaxOverMean, double? DropFraction, double? TokensPerSecond, long? Steps, int MoeLayers);

/// <summary>The columns of the comparison in which one run can be best.</summary>
public enum CompareColumn { FinalValLoss, BestValLoss, MaxOverMean, DropFraction, TokensPerSecond }

/// <summary>
/// Runs side by side: the routing and balancing setup from each config, the numbers their metrics give (validation
/// loss, load balance, dropped tokens, throughput) with the best per column, and their curves overlaid, one colour per
/// run. Plain data in, plain data out: the compare page fetches, this computes.
/// </summary>
public sealed partial class RunComparison
{
    public const int MaxRuns = 10, MaxPoints = 500, MaxLayers = 30;
    public const string Loss = "loss", ValLoss = "val_loss", TokensPerSecond = "tokens_per_s", MaxOverMeanStat = "max_over_mean", DropFractionStat = "drop_fraction";

    readonly List<(RunView Run, IReadOnlyList<CurveView> Curves)> _runs;
    readonly Dictionary<CompareColumn, double> _best = [];

    public RunComparison(IEnumerable<(RunView Run, IReadOnlyList<CurveView> Curves)> runs)
    {
        _runs = runs.Take(MaxRuns).ToList();
        Rows = _runs.Select(r => Summarize(r.Run, r.Curves)).ToList();
        foreach (var column in Enum.GetValues<CompareColumn>())
        {
            var values = Rows.Select(r => ValueOf(r, column)).OfType<double>().ToList();
            if (values.Count < 2) continue; // nothing to compare against
            _best[column] = column == CompareColumn.TokensPerSecond ? values.Max() : values.Min();
        }
        Differing = new HashSet<string>(
            new (string Name, Func<RoutingSetup, object?> Field)[]
            {
                ("router", s => s.Router), ("top_k", s => s.TopK), ("experts", s => s.ExpertsText), ("capacity", s => s.Capacity), ("balancing", s => s.Balancing),
            }.Where(f => Rows.Select(r => f.Field(r.Setup)).Distinct().Count() > 1).Select(f => f.Name));
    }

    public IReadOnlyList<RunSummary> Rows { get; }

    /// <summary>The setup fields in which the runs differ: router, top_k, experts, capacity, balancing.</summary>
    public IReadOnlySet<string> Differing { get; }

    /// <summary>Whether the row holds the best value of the column (lowest, highest for throughput); false with fewer than two values.</summary>
    public bool IsBest(CompareColumn column, RunSummary row) => _best.TryGetValue(column, out var best) && ValueOf(row, column) == best;

    public static double? ValueOf(RunSummary row, CompareColumn column) => column switch
    {
        CompareColumn.FinalValLoss => row.FinalValLoss,
        CompareColumn.BestValLoss => row.BestValLoss,
        CompareColumn.MaxOverMean => row.MaxOverMean,
        CompareColumn.DropFraction => row.DropFraction,
        CompareColumn.TokensPerSecond => row.TokensPerSecond,
        _ => null,
    };

    /// <summary>The run's colour in the charts (its position among the compared runs), or null for a run not compared.</summary>
    public string? ColorOf(string runId) => _runs.FindIndex(r => r.Run.Id == runId) is var i and >= 0 ? ColorAt(i) : null;

    /// <summary>One line per run (that has the metric) in the run's colour.</summary>
    public IReadOnlyList<ChartSeries> Series(string metric) =>
        _runs.Select((r, i) => r.Curves.FirstOrDefault(c => c.Name == metric) is { Points.Count: > 0 } curve
            ? ChartSeries.From(curve, r.Run.Name, ColorAt(i)) : null).OfType<ChartSeries>().ToList();

    /// <summary>One line per run: the mean over its MoE layers of <c>router.L.max_over_mean</c> at the steps every layer has.</summary>
    public IReadOnlyList<ChartSeries> BalanceSeries() =>
        _runs.Select((r, i) => (Line: MeanAcrossLayers(r.Curves, MaxOverMeanStat), Name: r.Run.Name, Color: ColorAt(i)))
            .Where(x => x.Line.Steps.Count > 0).Select(x => new ChartSeries(x.Name, x.Line.Steps, x.Line.Values, x.Color)).ToList();

    static string ColorAt(int index) => PortalTheme.Series[index % PortalTheme.Series.Length];

    /// <summary>The MoE layers that report router statistics (from names like <c>router.3.max_over_mean</c>), ascending.</summary>
    public static IReadOnlyList<int> MoeLayers(IEnumerable<string> metricNames) =>
        metricNames.Select(n => RouterStat().Match(n)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().Order().ToList();

    /// <summary>The metrics the comparison queries for a run with these MoE layers (at most <see cref="MaxLayers"/> of them).</summary>
    public static IReadOnlyList<string> MetricsFor(IReadOnlyList<int> layers) =>
        [Loss, ValLoss, TokensPerSecond, .. layers.Take(MaxLayers).SelectMany(l => new[] { RouterMetric(l, MaxOverMeanStat), RouterMetric(l, DropFractionStat) })];

    public static string RouterMetric(int layer, string stat) => $"router.{layer.ToString(CultureInfo.InvariantCulture)}.{stat}";

    public static RunSummary Summarize(RunView run, IReadOnlyList<CurveView> curves)
    {
        CurveView? Curve(string name) => curves.FirstOrDefault(c => c.Name == name);
        var valLoss = Curve(ValLoss);
        var best = valLoss?.Points.Select(p => p.Min ?? p.Value).OfType<double>().Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min() is { } b && double.IsFinite(b)
            ? b : run.BestValLoss;
        var layers = MoeLayers(curves.Select(c => c.Name));
        return new RunSummary(run.Id, run.Name, run.Status, Setup(run.Config), Last(valLoss), best,
            MeanOfLast(curves, layers, MaxOverMeanStat), MeanOfLast(curves, layers, DropFractionStat),
            Median(Curve(TokensPerSecond)?.Points.Select(p => p.Value) ?? []),
            run.LastStep ?? Curve(Loss)?.Points.LastOrDefault()?.Step, layers.Count);
    }

    /// <summary>The last finite value of a curve, or null.</summary>
    public static double? Last(CurveView? curve) => curve?.Points.Select(p => p.Value).LastOrDefault(v => v is { } x && double.IsFinite(x));

    /// <summary>The median of the finite values (the mean of the middle two for an even count), or null when there are none.</summary>
    public static double? Median(IEnumerable<double?> values)
    {
        var sorted = values.OfType<double>().Where(double.IsFinite).Order().ToList();
        if (sorted.Count == 0) return null;
        int middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>The mean over layers of each layer's last <c>router.L.stat</c>; layers without a value are left out; null when none has one.</summary>
    public static double? MeanOfLast(IReadOnlyList<CurveView> curves, IReadOnlyList<int> layers, string stat)
    {
        var lasts = layers.Select(l => Last(curves.FirstOrDefault(c => c.Name == RouterMetric(l, stat)))).OfType<double>().ToList();
        return lasts.Count == 0 ? null : lasts.Average();
    }

    /// <summary>
    /// The mean over MoE layers of <c>router.L.stat</c> at each step that every layer with data has (downsampled curves of
    /// the same run share their buckets' steps); a step where some layer has no finite value is a gap (null).
    /// </summary>
    public static (IReadOnlyList<long> Steps, IReadOnlyList<double?> Values) MeanAcrossLayers(IReadOnlyList<CurveView> curves, string stat)
    {
        var layers = MoeLayers(curves.Select(c => c.Name));
        var perLayer = layers.Select(l => curves.FirstOrDefault(c => c.Name == RouterMetric(l, stat)))
            .Where(c => c is { Points.Count: > 0 }).Select(c => c!.Points.GroupBy(p => p.Step).ToDictionary(g => g.Key, g => g.Last().Value)).ToList();
        if (perLayer.Count == 0) return ([], []);
        var steps = perLayer.Skip(1).Aggregate(new SortedSet<long>(perLayer[0].Keys), (common, layer) => { common.IntersectWith(layer.Keys); return common; }).ToList();
        var values = steps.Select(step =>
        {
            var atStep = perLayer.Select(layer => layer[step]).ToList();
            return atStep.All(v => v is { } x && double.IsFinite(x)) ? atStep.Average() : null;
        }).ToList();
        return (steps, values);
    }

    /// <summary>The routing setup in a run's config (the trainer's defaults for absent fields).</summary>
    public static RoutingSetup Setup(JsonNode? config)
    {
        if (config?["model"] is not JsonObject model) return RoutingSetup.Unknown;
        if (model["moe"] is not JsonObject moe) return new RoutingSetup("dense", null, null, 0, "—", "none");
        var router = moe["router"] as JsonObject;
        var score = Text(router?["score"])?.ToLowerInvariant() ?? "softmax";
        var gating = (Text(router?["gating"]) ?? "top_k").Replace("_", "", StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "topk" => "top-k",
            "noisytopk" => "noisy top-k",
            var other => other,
        };
        bool soft = gating == "soft";
        int experts = Int(moe["num_experts"]) ?? 8;
        var routerText = $"{score} {gating}" + (!soft && (Bool(router?["normalize_top_k"]) ?? true) ? ", normalized" : "");

        var capacity = moe["capacity"] as JsonObject;
        var capacityText = soft ? "—"
            : Bool(capacity?["dropless"]) == true ? "dropless"
            : $"×{Number(Double(capacity?["train_factor"]) ?? 1.25)} {(Text(capacity?["drop_policy"]) ?? "position").ToLowerInvariant()}";

        var balance = moe["balance"] as JsonObject;
        var terms = new List<string>();
        void Weight(string field, string label)
        {
            if (Double(balance?[field]) is { } w && w > 0) terms.Add($"{label} {Number(w)}");
        }
        Weight("switch_weight", "switch");
        Weight("importance_weight", "importance");
        if (Double(balance?["group_weight"]) is { } g && g > 0) terms.Add($"group {Number(g)} ({Int(balance?["groups"]) ?? 1} groups)");
        Weight("z_loss_weight", "z-loss");
        if (Bool(balance?["aux_free"]) == true) terms.Add($"aux-free γ={Number(Double(balance?["aux_free_gamma"]) ?? 0.001)}");
        return new RoutingSetup(routerText, soft ? experts : Int(moe["top_k"]) ?? 2, experts, Int(moe["num_shared_experts"]) ?? 0, capacityText,
            terms.Count == 0 ? "none" : string.Join(" + ", terms));
    }

    static string Number(double value) => value.ToString("G4", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^router\.(\d+)\.(max_over_mean|drop_fraction|entropy|load\.\d+)$")]
    private static partial Regex RouterStat();
}
