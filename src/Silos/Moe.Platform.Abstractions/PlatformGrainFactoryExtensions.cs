using Moe.Platform.Checkpoints;
using Moe.Platform.Datasets;
using Moe.Platform.Experiments;
using Moe.Platform.Models;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Workers;
using Orleans;

namespace Moe.Platform;

/// <summary>Where callers find the control plane's grains, so no one spells a key by hand.</summary>
public static class PlatformGrainFactoryExtensions
{
    /// <summary>The scheduler is a singleton: one queue for the whole cluster.</summary>
    public const long SchedulerKey = 0;

    public static ISchedulerGrain GetScheduler(this IGrainFactory grains) => grains.GetGrain<ISchedulerGrain>(SchedulerKey);

    public static IRunGrain GetRun(this IGrainFactory grains, string runId) => grains.GetGrain<IRunGrain>(runId);

    public static IExperimentGrain GetExperiment(this IGrainFactory grains, string experimentId) =>
        grains.GetGrain<IExperimentGrain>(experimentId);

    public static IDatasetGrain GetDataset(this IGrainFactory grains, string datasetId) => grains.GetGrain<IDatasetGrain>(datasetId);

    /// <summary>The checkpoints of one run.</summary>
    public static ICheckpointRegistryGrain GetCheckpoints(this IGrainFactory grains, string runId) =>
        grains.GetGrain<ICheckpointRegistryGrain>(runId);

    public static IModelRegistryGrain GetModel(this IGrainFactory grains, string modelName) => grains.GetGrain<IModelRegistryGrain>(modelName);

    public static IWorkerGrain GetWorker(this IGrainFactory grains, string workerId) => grains.GetGrain<IWorkerGrain>(workerId);
}
