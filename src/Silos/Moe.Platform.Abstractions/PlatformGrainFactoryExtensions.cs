using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Orleans;

namespace Moe.Platform;

/// <summary>Where callers find the control plane's grains, so no one spells a key by hand.</summary>
public static class PlatformGrainFactoryExtensions
{
    /// <summary>The scheduler is a singleton: one queue for the whole cluster.</summary>
    public const long SchedulerKey = 0;

    public static ISchedulerGrain GetScheduler(this IGrainFactory grains) => grains.GetGrain<ISchedulerGrain>(SchedulerKey);

    public static IRunGrain GetRun(this IGrainFactory grains, string runId) => grains.GetGrain<IRunGrain>(runId);
}
