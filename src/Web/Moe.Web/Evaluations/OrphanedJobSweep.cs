using Microsoft.Extensions.Options;
using Moe.Platform.Worker.Jobs;

namespace Moe.Web.Evaluations;

/// <summary>
/// At start, stops the trainer jobs an earlier run of this app left behind (they lease their scratch folders and should
/// have exited with it; Moe.Supervision): orphans only, so the jobs of another app sharing the folder keep running.
/// </summary>
public sealed class OrphanedJobSweep(IOptions<EvaluationOptions> options, ILogger<OrphanedJobSweep> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        int stopped = await OrphanedProcesses.StopOrphansUnderAsync(options.Value.ResolvedWorkDirectory(), OrphanedProcesses.DefaultGrace,
            logger, cancellationToken);
        if (stopped > 0) logger.LogWarning("Stopped {Count} trainer job(s) an earlier run of this app left running", stopped);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
