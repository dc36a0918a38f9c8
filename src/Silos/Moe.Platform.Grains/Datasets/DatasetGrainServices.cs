using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Grains.Datasets;

public static class DatasetGrainServices
{
    /// <summary>The Dataset grain's projection and its preparer (over the host's <see cref="IArtifactStore"/>).</summary>
    public static IServiceCollection AddDatasetGrains(this IServiceCollection services) => services
        .AddGrainStateProjection<DatasetProjection>()
        .AddSingleton(sp => new DatasetPreparer(sp.GetRequiredService<IArtifactStore>()));
}
