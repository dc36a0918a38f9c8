namespace Moe.Platform.Metrics;

/// <summary>One value of one metric at one optimiser step, as a worker sends it (NaN for a non-finite value).</summary>
public readonly record struct MetricPoint(long Step, string Name, double Value);

/// <summary>
/// Summary of the points of one step range: their extremes (so spikes survive downsampling) and the value at the
/// range's last step. A raw point is a bucket of one: FirstStep = LastStep, Min = Max = Last.
/// Values are NaN where every point was non-finite.
/// </summary>
public readonly record struct MetricBucket(long FirstStep, long LastStep, double Min, double Max, double Last, int Count);

/// <summary>A metric curve as returned to a chart: raw points when few enough, else at most maxPoints buckets.</summary>
public sealed record MetricCurve(string Name, bool Downsampled, IReadOnlyList<MetricBucket> Buckets);
