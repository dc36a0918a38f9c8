using Moe.Web.Apis;
using Moe.Web.Components.Charts;
using Moe.Web.Portal;
using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Components.Runs;

/// <summary>
/// Which curves the run page draws and how it reads them: through <see cref="RunQueries.CurvesAsync"/> (what
/// <c>GET /runs/{id}/metrics/query</c> answers), downsampled by the server so a 100k-step run stays light.
/// </summary>
public static class RunCurves
{
    /// <summary>Buckets per line chart, and per heatmap row (columns of the expert-load heatmap).</summary>
    public const int LinePoints = 500, HeatmapPoints = 200;

    /// <summary>The scalar training curves the charts use (those a run has are read).</summary>
    public static readonly IReadOnlyList<string> Training =
        ["loss", "lm_loss", "aux_loss", "mtp_loss", "val_loss", "val_ppl", "lr", "grad_norm", "tokens_per_s"];

    /// <summary>The unweighted balancing losses (<c>aux.switch</c>, <c>aux.z</c>, ...).</summary>
    public static bool IsAux(string name) => name.StartsWith("aux.", StringComparison.Ordinal) && name.Length > 4;

    /// <summary>The line-chart curves among the run's names: training scalars, aux losses, per-layer router statistics and the biases of <paramref name="layer"/>.</summary>
    public static List<string> LineNames(IReadOnlyList<string> names, int? layer)
    {
        var present = names.ToHashSet(StringComparer.Ordinal);
        var router = RouterMetric.ParseAll(names);
        return Training.Where(present.Contains)
            .Concat(names.Where(IsAux).Order(StringComparer.Ordinal))
            .Concat(router.Where(m => m.Kind is RouterMetricKind.DropFraction or RouterMetricKind.Entropy or RouterMetricKind.MaxOverMean).Select(m => m.Name))
            .Concat(router.Where(m => m.Kind == RouterMetricKind.Bias && m.Layer == layer).Select(m => m.Name))
            .ToList();
    }

    /// <summary>The expert-load curves of one layer (the heatmap's rows).</summary>
    public static List<string> LoadNames(IReadOnlyList<string> names, int? layer) =>
        layer is { } l ? RouterMetric.Names(names, RouterMetricKind.Load, l) : [];

    /// <summary>Reads the curves, at most <see cref="RunQueries.MaxMetricNames"/> names per query, keyed by name.</summary>
    public static async Task<Dictionary<string, CurveView>> QueryAsync(ProjectAccess access, string runId, IReadOnlyList<string> names, int maxPoints,
        CancellationToken ct)
    {
        var curves = new Dictionary<string, CurveView>(StringComparer.Ordinal);
        foreach (var chunk in names.Chunk(RunQueries.MaxMetricNames))
            foreach (var curve in await RunQueries.CurvesAsync(access, runId, chunk, null, null, maxPoints, ct))
                curves[curve.Name] = curve;
        return curves;
    }

    /// <summary>
    /// The fresh curves, keeping the previous instance of each one whose points did not change: charts redraw only
    /// what moved (a finished run's page sends no chart data on a refresh).
    /// </summary>
    public static Dictionary<string, CurveView> KeepUnchanged(IReadOnlyDictionary<string, CurveView> previous, Dictionary<string, CurveView> fresh)
    {
        foreach (var (name, curve) in fresh)
            if (previous.TryGetValue(name, out var old) && old.Downsampled == curve.Downsampled && old.Points.SequenceEqual(curve.Points))
                fresh[name] = old;
        return fresh;
    }
}

/// <summary>
/// The series of each chart, rebuilt only when one of its curves changed instance: <see cref="CurveChart"/> redraws
/// when its series list is a new one.
/// </summary>
public sealed class SeriesCache
{
    readonly Dictionary<string, (CurveView?[] Sources, IReadOnlyList<ChartSeries> Series)> _charts = new(StringComparer.Ordinal);

    /// <summary>The lines of chart <paramref name="chart"/>: one per (metric, label) whose curve is loaded.</summary>
    public IReadOnlyList<ChartSeries> Lines(string chart, IReadOnlyDictionary<string, CurveView> curves, IEnumerable<(string Metric, string Label)> lines,
        bool dashedAfterFirst = false)
    {
        var wanted = lines.ToList();
        var sources = wanted.Select(l => curves.GetValueOrDefault(l.Metric)).ToArray();
        if (_charts.TryGetValue(chart, out var cached) && cached.Sources.SequenceEqual(sources, ReferenceEqualityComparer.Instance))
            return cached.Series;
        var series = new List<ChartSeries>();
        for (int i = 0; i < wanted.Count; i++)
            if (sources[i] is { } curve)
                series.Add(ChartSeries.From(curve, wanted[i].Label, dashed: dashedAfterFirst && series.Count > 0));
        _charts[chart] = (sources, series);
        return series;
    }

    public void Clear() => _charts.Clear();
}
