using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains.Storage;

namespace Moe.Platform.Grains.Runs;

public static class RunGrainServices
{
    /// <summary>The Run grain's projection and metric sink.</summary>
    public static IServiceCollection AddRunGrains(this IServiceCollection services) =>
        services.AddGrainStateProjection<RunProjection>().AddSingleton<RunMetricsSink>();
}
