using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains.Models;
using Moe.Platform.Grains.Storage;

namespace Moe.Platform.Grains.Checkpoints;

public static class RegistryGrainServices
{
    /// <summary>
    /// The Checkpoint-registry and Model-registry grains' projections. Their other services (the host's
    /// <c>IArtifactStore</c>, <c>TimeProvider</c>, logging) come from the silo.
    /// </summary>
    public static IServiceCollection AddRegistryGrains(this IServiceCollection services) =>
        services.AddGrainStateProjection<CheckpointProjection>().AddGrainStateProjection<ModelProjection>();
}
