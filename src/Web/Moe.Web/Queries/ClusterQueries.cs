using Microsoft.EntityFrameworkCore;
using Moe.Platform.Scheduling;
using Moe.Web.Apis;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>The scheduler's view for the API and the dashboard: workers with devices and placements, the queue in order.</summary>
public static class ClusterQueries
{
    public static async Task<ClusterView> GetAsync(ProjectAccess access, IGrainFactory grains, CancellationToken ct)
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
    }
}
