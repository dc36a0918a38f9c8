using Microsoft.EntityFrameworkCore;
using Moe.Platform.Scheduling;
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
    public static void MapClusterApi(this RouteGroupBuilder api)
    {
        api.MapGet("/cluster", async (ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var snapshot = await grains.GetScheduler().GetAsync();
            // Runs of projects the user has no role in are counted, not named.
            var ids = snapshot.Queue.Select(q => q.RunId).Concat(snapshot.Running.Select(r => r.RunId)).Distinct().ToList();
            var visible = await access.VisibleProjectsAsync(ct);
            var shown = (await access.Db.Runs.AsNoTracking().Where(r => ids.Contains(r.Id) && (visible == null || visible.Contains(r.Experiment!.Project)))
                .Select(r => r.Id).ToListAsync(ct)).ToHashSet();
            var workers = snapshot.Workers.Select(w => new WorkerView(w.WorkerId,
                w.GpusOrEmpty.Select(g => new GpuView(g.Index, g.Name, g.TotalMemoryBytes, g.FreeMemoryBytes)).ToList(), w.CpuSlots, w.TagsOrEmpty,
                snapshot.Running.Where(r => r.WorkerId == w.WorkerId && shown.Contains(r.RunId))
                    .Select(r => new PlacementView(r.RunId, r.ExperimentId, r.Priority, r.GpuIndexesOrEmpty, r.CpuSlots, r.StartedAt, r.Stopping, r.ProcessStarted))
                    .ToList())).ToList();
            var queue = snapshot.Queue.Where(q => shown.Contains(q.RunId)).OrderByDescending(q => q.Priority).ThenBy(q => q.EnqueuedAt)
                .Select(q => new QueuedView(q.RunId, q.ExperimentId, q.Priority, q.EnqueuedAt, new RunResources(q.Resources.Gpus, q.Resources.GpuMemoryBytes, q.Resources.CpuSlots)))
                .ToList();
            return new ClusterView(workers, queue, ids.Count - shown.Count);
        }).WithTags("Cluster").WithSummary("Workers (devices, CPU slots, the runs on them) and the queue, as the scheduler holds them");
    }
}
