using System.Globalization;

namespace Moe.Platform.Runs;

/// <summary>
/// A run's progress as one line of text for terminals and logs (<c>moe-silo launch</c>, the demo of <c>./platform
/// run</c>): status, a 20-character bar of the steps done out of the run's own <c>training.steps</c>, the best validation
/// loss and the worker.
/// </summary>
/// <param name="TotalSteps">The run's <c>training.steps</c>, read from its spec once (<see cref="Of"/>).</param>
public sealed record RunProgress(long? TotalSteps)
{
    private const int BarWidth = 20;

    public static RunProgress Of(RunSpec spec) => new(spec.TotalSteps());

    /// <summary>Which twentieth of its steps the run has reached (or its step when the total is unknown): a new one is worth a line.</summary>
    public long Bucket(RunSnapshot run) =>
        TotalSteps is long total and > 0 ? BarWidth * (run.LastStep ?? 0) / total : run.LastStep ?? 0;

    public string Line(RunSnapshot run)
    {
        long step = run.LastStep ?? 0;
        var bar = TotalSteps is long total and > 0
            ? $"[{new string('#', (int)Math.Min(BarWidth, BarWidth * step / total)).PadRight(BarWidth, '.')}] {step}/{total}"
            : $"step {step}";
        var loss = run.BestValLoss is { } v ? $"  best val loss {v.ToString("F3", CultureInfo.InvariantCulture)}" : "";
        return $"{run.RunId} {run.Status,-9} {bar}{loss}{(run.WorkerId is { } w ? $"  on {w}" : "")}";
    }
}
