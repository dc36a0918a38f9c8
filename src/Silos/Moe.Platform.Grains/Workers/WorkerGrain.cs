using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Workers;

namespace Moe.Platform.Grains.Workers;

/// <summary>
/// The face of a worker in the cluster. The worker agent's first call places it on the agent's own silo; the timer
/// keeps it there for the silo's life. Activated anywhere else (its silo is gone) it has no agent and refuses.
/// </summary>
[Orleans.Placement.PreferLocalPlacement]
public sealed class WorkerGrain(IServiceProvider services) : Grain, IWorkerGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (LocalAgent() is null)
        {
            DeactivateOnIdle();
            return Task.CompletedTask;
        }
        // A no-op timer whose only job is keeping the activation (and so the worker's address) alive.
        this.RegisterGrainTimer(() => Task.CompletedTask, new GrainTimerCreationOptions(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task<WorkerSnapshot> GetAsync() =>
        Task.FromResult(LocalAgent() is { } agent
            ? agent.Snapshot(RuntimeIdentity)
            : throw WorkerErrors.Unavailable(this.GetPrimaryKeyString()));

    private WorkerAgent? LocalAgent() =>
        services.GetService<WorkerAgent>() is { } agent && agent.WorkerId == this.GetPrimaryKeyString() ? agent : null;
}
