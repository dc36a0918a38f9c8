using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record GpuView(int Index, string Name, long TotalMemoryBytes, long FreeMemoryBytes);
public sealed record PlacementView(string RunId, string ExperimentId, int Priority, IReadOnlyList<int> GpuIndexes, int CpuSlots, DateTimeOffset StartedAt,
    bool Stopping, bool ProcessStarted);
public sealed record WorkerView(string WorkerId, IReadOnlyList<GpuView> Gpus, int CpuSlots, IReadOnlyList<string> Tags, IReadOnlyList<PlacementView> Runs);
public sealed record QueuedView(string RunId, string ExperimentId, int Priority, DateTimeOffset EnqueuedAt, RunResources Resources);
public sealed record ClusterView(IReadOnlyList<WorkerView> Workers, IReadOnlyList<QueuedView> Queue, int HiddenRuns);

/// <summary>/api/v1/cluster: the scheduler's view — workers with their devices and what runs on them, and the queue in order.</summary>
public static class ClusterApi
{
    public static void MapClusterApi(this RouteGroupBuilder api) =>
        api.MapGet("/cluster", (ProjectAccess access, IGrainFactory grains, CancellationToken ct) => ClusterQueries.GetAsync(access, grains, ct))
            .WithTags("Cluster").WithSummary("Workers (devices, CPU slots, the runs on them) and the queue, as the scheduler holds them");
}
