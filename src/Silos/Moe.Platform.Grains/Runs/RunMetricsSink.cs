using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Metrics;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Grains.Runs;

/// <summary>Where a run grain stores the metric points its worker sends: the metadata database's metric tables.</summary>
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
}
