using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// Decides, from a snapshot of the queue, the workers and what runs on them, which queued runs start where, which
/// running runs to preempt, and which runs can never fit. Pure and deterministic: the same input (in any order)
/// gives the same plan, so a grain can re-plan on every change without side effects.
/// </summary>
/// <remarks>
/// Order: strict priority (higher first). Within one priority, fair share: the next job comes from the experiment
/// with the fewest runs holding resources (counting placements made earlier in this plan, so two experiments
/// interleave), ties going to the earliest enqueued head job; within an experiment, FIFO by enqueue time.
/// A job that fits nowhere now does not block later ones (they may use what it cannot); if it has a higher priority
/// than some running runs it preempts instead, and what it will need is held back for it.
/// </remarks>
public static class Scheduler
{
    public static SchedulingPlan Plan(
        IReadOnlyCollection<QueuedJob> queue, IReadOnlyCollection<WorkerCapacity> workers,
        IReadOnlyCollection<RunningJob> running)
    {
        RefuseDuplicates(queue, workers, running);

        var runsByWorker = running.ToLookup(r => r.WorkerId, StringComparer.Ordinal);
        var ledgers = workers.OrderBy(w => w.WorkerId, StringComparer.Ordinal)
            .Select(w => new WorkerLedger(w, runsByWorker[w.WorkerId])).ToList();
        var holding = running.GroupBy(r => r.ExperimentId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

        var decisions = ImmutableArray.CreateBuilder<SchedulingDecision>();
        foreach (var job in InPlanOrder(queue, holding))
        {
            if (UnschedulableReason.For(job, ledgers) is { } reason)
            {
                decisions.Add(new Unschedulable(job.RunId, reason));
            }
            else if (BestFit(job, ledgers) is var (ledger, gpus))
            {
                ledger.Allocate(gpus, job.Resources.CpuSlots);
                holding[job.ExperimentId] = holding.GetValueOrDefault(job.ExperimentId) + 1;
                decisions.Add(new Place(job.RunId, ledger.WorkerId, gpus, job.Resources.CpuSlots));
            }
            else
            {
                decisions.AddRange(Preemption.MakeRoom(job, ledgers));
            }
        }
        return new SchedulingPlan(decisions.ToImmutable());
    }

    /// <summary>
    /// Yields queued jobs in the order they are considered. Lazy on purpose: fair share reads
    /// <paramref name="holding"/>, which the caller updates after each placement.
    /// </summary>
    private static IEnumerable<QueuedJob> InPlanOrder(
        IReadOnlyCollection<QueuedJob> queue, Dictionary<string, int> holding)
    {
        foreach (var level in queue.GroupBy(j => j.Priority).OrderByDescending(g => g.Key))
        {
            var byExperiment = level.GroupBy(j => j.ExperimentId, StringComparer.Ordinal)
                .ToDictionary(
                    g => g.Key,
                    g => new Queue<QueuedJob>(g.OrderBy(j => j.EnqueuedAt).ThenBy(j => j.RunId, StringComparer.Ordinal)),
                    StringComparer.Ordinal);
            while (byExperiment.Count > 0)
            {
                var next = byExperiment
                    .OrderBy(e => holding.GetValueOrDefault(e.Key))
                    .ThenBy(e => e.Value.Peek().EnqueuedAt)
                    .ThenBy(e => e.Key, StringComparer.Ordinal)
                    .First();
                var job = next.Value.Dequeue();
                if (next.Value.Count == 0) byExperiment.Remove(next.Key);
                yield return job;
            }
        }
    }

    /// <summary>
    /// The worker where the job fits now with the least left over of what it competes for: free GPUs for a GPU job
    /// (then CPU slots), and for a CPU job first the fewest free GPUs (keeping GPU workers for GPU jobs), then CPU slots.
    /// </summary>
    private static (WorkerLedger Ledger, ImmutableArray<int> Gpus)? BestFit(QueuedJob job, List<WorkerLedger> ledgers)
    {
        var request = job.Resources;
        (WorkerLedger Ledger, ImmutableArray<int> Gpus)? best = null;
        (int, int) bestScore = default;
        foreach (var ledger in ledgers) // sorted by id, and only a strictly better score replaces: ties go to the lower id
        {
            if (!ledger.HasTags(job.RequiredTagsOrEmpty) || ledger.TryFitNow(request) is not { } gpus) continue;
            var score = (ledger.FreeGpuCount - request.Gpus, ledger.FreeCpu - request.CpuSlots);
            if (best is null || score.CompareTo(bestScore) < 0)
            {
                best = (ledger, gpus);
                bestScore = score;
            }
        }
        return best;
    }

    private static void RefuseDuplicates(
        IReadOnlyCollection<QueuedJob> queue, IReadOnlyCollection<WorkerCapacity> workers,
        IReadOnlyCollection<RunningJob> running)
    {
        // Duplicates would be booked twice; they mean the caller's snapshot is broken, so refuse rather than guess.
        if (FirstDuplicate(workers.Select(w => w.WorkerId)) is { } worker)
            throw new PlatformException("workers", $"worker {worker} appears more than once");
        if (FirstDuplicate(queue.Select(j => j.RunId)) is { } queued)
            throw new PlatformException("queue", $"run {queued} is queued more than once");
        if (FirstDuplicate(running.Select(r => r.RunId)) is { } run)
            throw new PlatformException("running", $"run {run} is running more than once");
        if (FirstDuplicate(queue.Select(j => j.RunId).Concat(running.Select(r => r.RunId))) is { } both)
            throw new PlatformException("queue", $"run {both} is both queued and running");
    }

    private static string? FirstDuplicate(IEnumerable<string> ids)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return ids.FirstOrDefault(id => !seen.Add(id));
    }
}
