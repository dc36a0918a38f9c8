namespace Moe.Platform.Scheduling;

/// <summary>
/// Makes room for a job that fits no worker now: on one worker, stop the fewest strictly-lower-priority runs that
/// free enough (runs already stopping count first, so a job waiting on them does not claim new victims).
/// </summary>
internal static class Preemption
{
    /// <summary>
    /// The Preempt decisions for the job (empty when it waits on runs already stopping, or when nothing lower-priority
    /// would free enough). Whatever it will use is held back on the chosen worker.
    /// </summary>
    public static IReadOnlyList<Preempt> MakeRoom(QueuedJob job, List<WorkerLedger> ledgers)
    {
        var request = job.Resources;
        (WorkerLedger Ledger, List<RunningJob> Victims)? best = null;
        foreach (var ledger in ledgers)
        {
            if (!ledger.HasTags(job.RequiredTagsOrEmpty) || !ledger.CouldEverFit(request)) continue;
            if (MinimalVictims(job, ledger) is not { } victims) continue;
            if (best is null || Cost(victims).CompareTo(Cost(best.Value.Victims)) < 0) best = (ledger, victims);
        }
        if (best is not var (chosen, chosenVictims)) return [];

        chosen.ReserveAfterStopping(request, chosenVictims);
        return chosenVictims.Select(v => new Preempt(v.RunId, job.RunId, chosen.WorkerId)).ToList();
    }

    /// <summary>
    /// Takes candidates cheapest first until the job fits, then drops any that turned out unnecessary (a later,
    /// larger victim can make an earlier one redundant). Null when even all of them are not enough.
    /// </summary>
    private static List<RunningJob>? MinimalVictims(QueuedJob job, WorkerLedger ledger)
    {
        var victims = new List<RunningJob>();
        foreach (var candidate in ledger.PreemptionCandidates(job.Priority))
        {
            if (ledger.FitsAfterStopping(job.Resources, victims)) break;
            victims.Add(candidate);
        }
        if (!ledger.FitsAfterStopping(job.Resources, victims)) return null;

        // The last one added was needed; try the earlier ones from the most valuable down.
        for (var i = victims.Count - 2; i >= 0; i--)
        {
            var without = victims.Where((_, j) => j != i).ToList();
            if (ledger.FitsAfterStopping(job.Resources, without)) victims = without;
        }
        return victims;
    }

    // Lower is better: never stop more important work than needed, then stop as few runs as possible.
    private static (int HighestPriority, int Count, long PrioritySum) Cost(List<RunningJob> victims) =>
        victims.Count == 0
            ? (int.MinValue, 0, 0)
            : (victims.Max(v => v.Priority), victims.Count, victims.Sum(v => (long)v.Priority));
}
