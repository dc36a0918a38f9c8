using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Metrics;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Grains.Runs;

/// <summary>Where a run grain stores what its worker sends: metric points and log lines, in the metadata database.</summary>
public sealed class RunMetricsSink(IServiceProvider services)
{
    // Resolved on first use, so silos and tests that never ingest metrics need no database.
    private IDbContextFactory<PlatformDb> Databases => services.GetRequiredService<IDbContextFactory<PlatformDb>>();

    /// <summary>Upserts the batch in one transaction (a resent step overwrites, never duplicates).</summary>
    public async Task AppendAsync(string runId, IReadOnlyList<MetricPoint> points, CancellationToken cancellationToken = default)
    {
        await using var db = await Databases.CreateDbContextAsync(cancellationToken);
        await new MetricStore(db).AppendAsync(runId, points, cancellationToken);
    }

    /// <summary>Appends log lines after the run's last one (a run grain calls one at a time, so sequences never clash).</summary>
    public async Task AppendLogAsync(string runId, int attempt, IReadOnlyList<RunLogEntry> lines, CancellationToken cancellationToken = default)
    {
        await using var db = await Databases.CreateDbContextAsync(cancellationToken);
        await new RunLogStore(db).AppendAsync(runId, attempt, lines.Select(l => (l.At.UtcDateTime, l.Line)), cancellationToken);
    }
}
