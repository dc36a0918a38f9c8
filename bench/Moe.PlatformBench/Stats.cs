using System.Diagnostics;
using System.Globalization;

namespace Moe.PlatformBench;

/// <summary>Order statistics of timings: percentiles (linear interpolation) and median with spread over repetitions.</summary>
public static class Stats
{
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0) return double.NaN;
        double rank = p / 100 * (sorted.Length - 1);
        int low = (int)Math.Floor(rank), high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    public static double Ms(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    public static async Task<double> TimeMsAsync(Func<Task> action)
    {
        long start = Stopwatch.GetTimestamp();
        await action();
        return Ms(start);
    }

    public static string F(double value, int decimals = 1) =>
        double.IsNaN(value) ? "-" : value.ToString("N" + decimals, CultureInfo.InvariantCulture);
}

/// <summary>
/// One figure measured in several repetitions: reported as the median, with the spread as +/- half the range
/// (max - min) relative to the median, and the range itself.
/// </summary>
public sealed class Repeated(IEnumerable<double> values)
{
    public IReadOnlyList<double> Values { get; } = [.. values];
    public double Median => Stats.Median(Values);
    public double Min => Values.Min();
    public double Max => Values.Max();
    public double SpreadPercent => Values.Count < 2 || Median == 0 ? 0 : (Max - Min) / 2 / Math.Abs(Median) * 100;

    /// <summary>"1,234.5 +/-3%" (the spread only when there are several values).</summary>
    public string Format(int decimals = 1) =>
        Values.Count < 2 ? Stats.F(Median, decimals) : $"{Stats.F(Median, decimals)} ±{SpreadPercent:0}%";
}
