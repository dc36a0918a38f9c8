namespace Moe.Web.Components.Charts;

/// <summary>One line of a chart: a metric of a run over steps (null values are gaps, e.g. a diverged step's NaN).</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<long> Steps, IReadOnlyList<double?> Values, string? Color = null, bool Dashed = false)
{
    /// <summary>A downsampled curve from the metrics query as a line (the bucket's last value at its last step).</summary>
    public static ChartSeries From(Apis.CurveView curve, string? name = null, string? color = null, bool dashed = false) =>
        new(name ?? curve.Name, curve.Points.Select(p => p.Step).ToList(), curve.Points.Select(p => p.Value).ToList(), color, dashed);
}
