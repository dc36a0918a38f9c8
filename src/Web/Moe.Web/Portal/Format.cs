using System.Globalization;
using Moe.Web.Apis;

namespace Moe.Web.Portal;

/// <summary>How the portal writes numbers, sizes and times (invariant culture: the same on every machine).</summary>
public static class Format
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Loss(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.0000", Invariant) : "—";

    public static string Number(double? value, string format = "0.###") => value is { } v && double.IsFinite(v) ? v.ToString(format, Invariant) : "—";

    public static string Progress(long? step, long? total) => (step, total) switch
    {
        ({ } s, { } t) when t > 0 => $"{s:N0} / {t:N0} ({100.0 * s / t:0}%)",
        ({ } s, _) => s.ToString("N0", Invariant),
        _ => "—",
    };

    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1) (value, unit) = (value / 1024, unit + 1);
        return $"{value.ToString(unit == 0 ? "0" : "0.0", Invariant)} {units[unit]}";
    }

    public static string Resources(RunResources r) =>
        r.Gpus > 0 ? $"{r.Gpus} GPU{(r.Gpus > 1 ? "s" : "")}{(r.GpuMemoryBytes > 0 ? $" × {Bytes(r.GpuMemoryBytes)}" : "")}" : $"{r.CpuSlots} CPU slot(s)";

    public static string Ago(DateTimeOffset at) => Ago((DateTime?)at.UtcDateTime);

    public static string Ago(DateTime? at)
    {
        if (at is null) return "—";
        var span = DateTime.UtcNow - DateTime.SpecifyKind(at.Value, DateTimeKind.Utc);
        return span.TotalSeconds < 60 ? $"{Math.Max(0, (int)span.TotalSeconds)} s ago"
            : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes} min ago"
            : span.TotalHours < 48 ? $"{(int)span.TotalHours} h ago"
            : at.Value.ToString("yyyy-MM-dd HH:mm", Invariant);
    }

    public static string Time(DateTime? at) => at?.ToString("yyyy-MM-dd HH:mm:ss", Invariant) ?? "—";
}
