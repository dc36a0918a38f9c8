using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains.Storage;

namespace Moe.Platform.Grains.Experiments;

public static class ExperimentGrainServices
{
    /// <summary>The Experiment grain's projection.</summary>
    public static IServiceCollection AddExperimentGrains(this IServiceCollection services) =>
        services.AddGrainStateProjection<ExperimentProjection>();
}
