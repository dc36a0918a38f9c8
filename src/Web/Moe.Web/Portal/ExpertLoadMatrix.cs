using System.Globalization;
using Moe.Web.Apis;

namespace Moe.Web.Portal;

/// <summary>What a router metric measures (<c>router.&lt;layer&gt;.&lt;stat&gt;</c>, as the worker names them).</summary>
public enum RouterMetricKind
{
    /// <summary><c>router.L.max_over_mean</c>: the busiest expert's load over the mean load.</summary>
    MaxOverMean,
    /// <summary><c>router.L.drop_fraction</c>: the share of token assignments dropped for capacity.</summary>
    DropFraction,
    /// <summary><c>router.L.entropy</c>: the entropy of the routing distribution.</summary>
    Entropy,
    /// <summary><c>router.L.load.E</c>: the share of tokens routed to expert E.</summary>
    Load,
    /// <summary><c>router.L.bias.E</c>: expert E's auxiliary-loss-free selection bias (DeepSeek-V3 balancing).</summary>
    Bias,
}

/// <summary>A parsed router metric name: its MoE layer, what it measures and, for loads and biases, the expert.</summary>
public sealed record RouterMetric(string Name, int Layer, RouterMetricKind Kind, int? Expert)
{
    public const string Prefix = "router.";

    /// <summary>
    /// Parses <c>router.L.max_over_mean|drop_fraction|entropy</c> and <c>router.L.load|bias.E</c> (L, E: decimal
    /// integers, no sign or padding beyond what <see cref="int"/> reads); anything else is not a router metric.
    /// </summary>
    public static RouterMetric? Parse(string? name)
    {
        if (name is null || !name.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var parts = name[Prefix.Length..].Split('.');
        if (parts.Length is < 2 or > 3 || !TryIndex(parts[0], out int layer)) return null;
        if (parts.Length == 2)
        {
            RouterMetricKind? kind = parts[1] switch
            {
                "max_over_mean" => RouterMetricKind.MaxOverMean,
                "drop_fraction" => RouterMetricKind.DropFraction,
                "entropy" => RouterMetricKind.Entropy,
                _ => null,
            };
            return kind is { } k ? new RouterMetric(name, layer, k, null) : null;
        }
        RouterMetricKind? perExpert = parts[1] switch
        {
            "load" => RouterMetricKind.Load,
            "bias" => RouterMetricKind.Bias,
            _ => null,
        };
        return perExpert is { } e && TryIndex(parts[2], out int expert) ? new RouterMetric(name, layer, e, expert) : null;
    }

    /// <summary>The router metrics among <paramref name="names"/>, by layer then kind then expert (numerically: 2 before 10).</summary>
    public static List<RouterMetric> ParseAll(IEnumerable<string> names) =>
        names.Select(Parse).OfType<RouterMetric>().DistinctBy(m => m.Name)
            .OrderBy(m => m.Layer).ThenBy(m => m.Kind).ThenBy(m => m.Expert ?? -1).ToList();

    /// <summary>The MoE layers that report router metrics, in order.</summary>
    public static List<int> Layers(IEnumerable<string> names) => ParseAll(names).Select(m => m.Layer).Distinct().ToList();

    /// <summary>The names of one kind of router metric (of one layer when given), by layer and expert.</summary>
    public static List<string> Names(IEnumerable<string> names, RouterMetricKind kind, int? layer = null) =>
        ParseAll(names).Where(m => m.Kind == kind && (layer is null || m.Layer == layer)).Select(m => m.Name).ToList();

    // Digits only: "+1", " 1", "-1" and "1e3" are not indexes. Leading zeros read as the number ("01" is 1).
    static bool TryIndex(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}

/// <summary>
/// How one MoE layer spread its tokens over its experts over time: rows are experts (numerically ordered), columns
/// are steps (the union of the steps of every expert's curve, ascending), cells are the share of tokens routed to the
/// expert at that step, or null where that expert's curve has no point at that step (or its value was not finite).
/// Built from the downsampled curves <c>router.L.load.0</c> .. <c>router.L.load.(E-1)</c>; every other name is ignored.
/// </summary>
public sealed class ExpertLoadMatrix
{
    ExpertLoadMatrix(int layer, IReadOnlyList<int> experts, IReadOnlyList<long> steps, double?[][] shares) =>
        (Layer, Experts, Steps, _shares) = (layer, experts, steps, shares);

    readonly double?[][] _shares;

    public int Layer { get; }

    /// <summary>The row labels: expert indexes, ascending.</summary>
    public IReadOnlyList<int> Experts { get; }

    /// <summary>The column labels: steps, ascending.</summary>
    public IReadOnlyList<long> Steps { get; }

    /// <summary>The shares, one row per expert, one value per step.</summary>
    public IReadOnlyList<IReadOnlyList<double?>> Shares => _shares;

    /// <summary>The share of expert row <paramref name="row"/> at step column <paramref name="column"/>.</summary>
    public double? this[int row, int column] => _shares[row][column];

    /// <summary>Rows × columns.</summary>
    public int CellCount => Experts.Count * Steps.Count;

    /// <summary>The cells that hold a value.</summary>
    public int FilledCells => _shares.Sum(row => row.Count(v => v is not null));

    public bool IsEmpty => CellCount == 0;

    /// <summary>A layer with no data yet.</summary>
    public static ExpertLoadMatrix Empty(int layer) => new(layer, [], [], []);

    /// <summary>One matrix per MoE layer found among the curves' names, by layer.</summary>
    public static List<ExpertLoadMatrix> FromCurves(IEnumerable<CurveView> curves)
    {
        var loads = Loads(curves);
        return loads.Select(l => l.Metric.Layer).Distinct().Order().Select(layer => Build(layer, loads)).ToList();
    }

    /// <summary>The matrix of one layer (empty when the curves hold none of its loads).</summary>
    public static ExpertLoadMatrix ForLayer(IEnumerable<CurveView> curves, int layer) => Build(layer, Loads(curves));

    static List<(RouterMetric Metric, CurveView Curve)> Loads(IEnumerable<CurveView> curves) =>
        curves.Select(c => (Metric: RouterMetric.Parse(c.Name), Curve: c))
            .Where(x => x.Metric is { Kind: RouterMetricKind.Load })
            .Select(x => (x.Metric!, x.Curve)).ToList();

    static ExpertLoadMatrix Build(int layer, List<(RouterMetric Metric, CurveView Curve)> loads)
    {
        // One row per expert; a name given twice ("load.2" and "load.02") keeps the first curve's points.
        var rows = loads.Where(l => l.Metric.Layer == layer).GroupBy(l => l.Metric.Expert!.Value)
            .OrderBy(g => g.Key).Select(g => (Expert: g.Key, g.First().Curve)).ToList();
        var steps = rows.SelectMany(r => r.Curve.Points.Select(p => p.Step)).Distinct().Order().ToList();
        var column = new Dictionary<long, int>(steps.Count);
        for (int i = 0; i < steps.Count; i++) column[steps[i]] = i;
        var shares = new double?[rows.Count][];
        for (int r = 0; r < rows.Count; r++)
        {
            shares[r] = new double?[steps.Count];
            foreach (var point in rows[r].Curve.Points)
                shares[r][column[point.Step]] = point.Value is { } v && double.IsFinite(v) ? v : null;
        }
        return new ExpertLoadMatrix(layer, rows.Select(r => r.Expert).ToList(), steps, shares);
    }
}
