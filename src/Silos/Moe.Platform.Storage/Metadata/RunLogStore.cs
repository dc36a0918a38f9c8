using Microsoft.EntityFrameworkCore;

namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// The log lines of runs (<c>run_logs</c>), numbered per run in arrival order. Only the newest
/// <see cref="MaxLinesPerRun"/> are kept: the portal shows a tail, and a months-long run must not grow without bound.
/// </summary>
public sealed class RunLogStore(PlatformDb db)
{
    public const int MaxLinesPerRun = 20_000;

    /// <summary>Appends after the run's last line (callers serialise per run), then trims the oldest beyond the cap.</summary>
    public async Task AppendAsync(string runId, int attempt, IEnumerable<(DateTime At, string Line)> lines, CancellationToken cancellationToken = default)
    {
        long first = (await db.RunLogs.Where(l => l.RunId == runId).MaxAsync(l => (long?)l.Sequence, cancellationToken) ?? -1) + 1, next = first;
        foreach (var (at, line) in lines)
            db.RunLogs.Add(new RunLogLine
            {
                RunId = runId, Attempt = attempt, Sequence = next++, At = at,
                Line = line.Length <= RunLogLine.MaxLineLength ? line : line[..RunLogLine.MaxLineLength],
            });
        await db.SaveChangesAsync(cancellationToken);
        // Trimming costs a DELETE: done when a batch crosses a thousand, so a run keeps at most the cap plus a thousand.
        if (next > MaxLinesPerRun && first / 1000 != next / 1000)
            await db.RunLogs.Where(l => l.RunId == runId && l.Sequence < next - MaxLinesPerRun).ExecuteDeleteAsync(cancellationToken);
    }
}
