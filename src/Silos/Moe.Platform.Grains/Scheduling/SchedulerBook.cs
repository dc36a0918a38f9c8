using System.Collections.Immutable;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Grains.Scheduling;

/// <summary>
/// The scheduler's books over its persisted <see cref="SchedulerState"/>: who waits, which workers exist, and who
/// holds what. Plain class; the grain adds persistence and the calls to run grains. Every update is idempotent,
/// because run grains report changes the scheduler may already have booked itself.
/// </summary>
internal sealed class SchedulerBook(SchedulerState state)
{
    public void Enqueue(QueuedJob job)
    {
        if (string.IsNullOrWhiteSpace(job.RunId)) throw new PlatformException("run_id", "is required");
        job.Resources.Validate();
        state.Running.Remove(job.RunId); // a queued run holds nothing
        state.Queue[job.RunId] = job with { RequiredTags = job.RequiredTagsOrEmpty }; // default arrays break JSON storage
    }

    public void RegisterWorker(WorkerCapacity capacity)
    {
        if (string.IsNullOrWhiteSpace(capacity.WorkerId)) throw new PlatformException("worker_id", "is required");
        if (capacity.CpuSlots < 0)
            throw new PlatformException("cpu_slots", $"must be 0 or more, got {capacity.CpuSlots}");
        state.Workers[capacity.WorkerId] = capacity with { Gpus = capacity.GpusOrEmpty, Tags = capacity.TagsOrEmpty };
    }

    /// <summary>Drops the worker and the runs it held, and returns those runs (to be reported lost).</summary>
    public IReadOnlyList<RunningJob> RemoveWorker(string workerId)
    {
        state.Workers.Remove(workerId);
        var lost = state.Running.Values.Where(r => r.WorkerId == workerId)
            .OrderBy(r => r.RunId, StringComparer.Ordinal).ToList();
        foreach (var run in lost) state.Running.Remove(run.RunId);
        return lost;
    }

    public void MarkStarted(string runId, DateTimeOffset at)
    {
        if (state.Running.TryGetValue(runId, out var run)) state.Running[runId] = run with { StartedAt = at, ProcessStarted = true };
    }

    public void Release(string runId)
    {
        state.Queue.Remove(runId);
        state.Running.Remove(runId);
    }

    public SchedulingPlan Plan() => Scheduler.Plan(state.Queue.Values, state.Workers.Values, state.Running.Values);

    /// <summary>
    /// Books the plan before anyone is told, so a pass that is interrupted cannot place a run twice: placed runs
    /// move from the queue to the running set, victims are marked stopping, unschedulable runs leave the queue.
    /// </summary>
    public void Book(SchedulingPlan plan, DateTimeOffset now)
    {
        foreach (var decision in plan.Decisions)
        {
            switch (decision)
            {
                case Place place when state.Queue.Remove(place.RunId, out var job):
                    state.Running[place.RunId] = new RunningJob(
                        job.RunId, job.ExperimentId, job.Priority, place.WorkerId, place.GpuIndexes, place.CpuSlots, now);
                    break;
                case Preempt preempt when state.Running.TryGetValue(preempt.RunId, out var victim):
                    state.Running[preempt.RunId] = victim with { Stopping = true };
                    break;
                case Unschedulable unschedulable:
                    state.Queue.Remove(unschedulable.RunId);
                    break;
            }
        }
    }

    /// <summary>What the worker should run: its booked runs that are not being stopped, by run id.</summary>
    public WorkerAssignment AssignmentOf(string workerId) => new(
        [.. state.Running.Values.Where(r => r.WorkerId == workerId && !r.Stopping)
            .OrderBy(r => r.RunId, StringComparer.Ordinal)
            .Select(r => new AssignedRun(r.RunId, r.GpuIndexesOrEmpty, r.CpuSlots))]);

    /// <summary>
    /// Runs whose process the worker started but no longer runs (it restarted, or its report of the exit was lost):
    /// they are taken off the books, to be reported lost.
    /// </summary>
    public IReadOnlyList<RunningJob> TakeVanished(string workerId, IReadOnlySet<string> runningOnWorker)
    {
        var vanished = state.Running.Values
            .Where(r => r.WorkerId == workerId && r.ProcessStarted && !runningOnWorker.Contains(r.RunId))
            .OrderBy(r => r.RunId, StringComparer.Ordinal).ToList();
        foreach (var run in vanished) state.Running.Remove(run.RunId);
        return vanished;
    }

    /// <summary>
    /// Whether a worker reports the same devices as booked, free GPU memory aside (it moves all the time; the newest
    /// value is kept in memory and saved with the next change).
    /// </summary>
    public static bool SameCapacity(WorkerCapacity a, WorkerCapacity b) =>
        a.WorkerId == b.WorkerId && a.Incarnation == b.Incarnation && a.CpuSlots == b.CpuSlots && a.TagsOrEmpty.SequenceEqual(b.TagsOrEmpty)
        && a.GpusOrEmpty.Select(g => (g.Index, g.Name, g.TotalMemoryBytes)).SequenceEqual(b.GpusOrEmpty.Select(g => (g.Index, g.Name, g.TotalMemoryBytes)));

    public SchedulerSnapshot Snapshot() => new(
        [.. state.Queue.Values.OrderBy(j => j.RunId, StringComparer.Ordinal)],
        [.. state.Workers.Values.OrderBy(w => w.WorkerId, StringComparer.Ordinal)],
        [.. state.Running.Values.OrderBy(r => r.RunId, StringComparer.Ordinal)]);
}
