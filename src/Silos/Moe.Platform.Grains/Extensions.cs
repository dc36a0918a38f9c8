using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains.Checkpoints;
using Moe.Platform.Grains.Datasets;
using Moe.Platform.Grains.Experiments;
using Moe.Platform.Grains.Runs;
using Moe.Platform.Grains.Storage;
using Orleans.Hosting;

namespace Moe.Platform.Grains;

/// <summary>Wires the control plane's grains into a silo.</summary>
public static class Extensions
{
    /// <summary>
    /// The "platform" grain storage on the metadata database, with the projections that keep the queryable tables in
    /// step, and the services the grains use. The host registers <c>IDbContextFactory&lt;PlatformDb&gt;</c> (and migrates
    /// the database before the silo starts) and an <c>IArtifactStore</c>.
    /// </summary>
    public static ISiloBuilder AddPlatformGrains(this ISiloBuilder silo)
    {
        silo.AddEfCoreGrainStorage(PlatformStorage.Name);
        silo.Services.AddPlatformGrainServices();
        return silo;
    }

    /// <summary>The grains' services and projections without the storage provider (tests choose their own storage).</summary>
    public static IServiceCollection AddPlatformGrainServices(this IServiceCollection services) =>
        services.AddRunGrains().AddExperimentGrains().AddDatasetGrains().AddRegistryGrains();
}
