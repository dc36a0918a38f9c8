using System.Globalization;

namespace Moe.Web.Evaluations;

/// <summary>How evaluation and routing-analysis jobs run (configuration section <c>Evaluations</c>; MOE_Evaluations__*).</summary>
public sealed class EvaluationOptions
{
    public const string Section = "Evaluations";

    /// <summary>Jobs run at once. Each is a trainer process using every core, next to training: keep it small.</summary>
    public int Workers { get; set; } = 2;

    /// <summary>
    /// Seconds before each retry of a failed job, comma-separated: one retry per entry ("10,60,300": three retries, so
    /// four attempts at most). Empty: no retries.
    /// </summary>
    public string RetryDelays { get; set; } = "10,60,300";

    /// <summary>An attempt still running after this long is killed and counts as failed.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Scratch folders (checkpoint and dataset copies) of running jobs; by default under the system temp folder.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>How often Hangfire looks for retries and recurring jobs that are due.</summary>
    public TimeSpan SchedulePollInterval { get; set; } = TimeSpan.FromSeconds(15);

    public int[] RetryDelaySeconds() =>
        [.. RetryDelays.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds
                : throw new PlatformException($"{Section}:RetryDelays", $"'{s}' is not a whole number of seconds"))];

    public string ResolvedWorkDirectory() => Path.GetFullPath(WorkDirectory ?? Path.Combine(Path.GetTempPath(), "moe-evaluations"));

    public void Validate()
    {
        if (Workers is < 1 or > 64) throw new PlatformException($"{Section}:Workers", "must be between 1 and 64");
        if (RetryDelaySeconds().Length > 20) throw new PlatformException($"{Section}:RetryDelays", "at most 20 retries");
        if (AttemptTimeout <= TimeSpan.Zero) throw new PlatformException($"{Section}:AttemptTimeout", "must be positive");
        if (SchedulePollInterval < TimeSpan.FromSeconds(1)) throw new PlatformException($"{Section}:SchedulePollInterval", "must be at least a second");
    }
}
