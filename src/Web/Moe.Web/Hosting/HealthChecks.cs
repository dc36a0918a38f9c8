using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Moe.Platform;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Hosting;

/// <summary>Ready when the metadata database answers a query.</summary>
public sealed class DatabaseHealthCheck(IDbContextFactory<PlatformDb> databases) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            var projects = await db.Projects.CountAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{(db.IsPostgres ? "postgresql" : "sqlite")}: {projects} project(s)");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("the metadata database does not answer", e);
        }
    }
}

/// <summary>Ready when the cluster answers a grain call (the scheduler's state) within a few seconds.</summary>
public sealed class ClusterHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var scheduler = await grains.GetScheduler().GetAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return HealthCheckResult.Healthy($"{scheduler.Workers.Length} worker(s), {scheduler.Queue.Length} queued");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the cluster does not answer", e);
        }
    }
}
