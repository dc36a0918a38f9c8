using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Moe.Platform.Grains.Workers;

public static class WorkerServices
{
    /// <summary>
    /// Makes this silo a worker: its agent heartbeats to the scheduler and runs the trainer processes of the runs
    /// placed on it. The host also registers the <c>IArtifactStore</c> the checkpoints and datasets live in.
    /// </summary>
    public static IServiceCollection AddPlatformWorker(this IServiceCollection services, Action<WorkerOptions> configure)
    {
        services.Configure(configure);
        services.AddSingleton<WorkerAgent>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<WorkerAgent>());
        return services;
    }
}
