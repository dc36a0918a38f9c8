namespace Moe.Platform.Scheduling;

/// <summary>
/// Says why a job can never fit the current workers, in the terms the user asked in ("asks for 4 GPUs, the largest
/// worker has 2"), or null when some worker could hold it once it is empty, or when there are no workers at all (the
/// pool is starting or all its workers left: the job waits for one to join).
/// </summary>
internal static class UnschedulableReason
{
    public static string? For(QueuedJob job, IReadOnlyList<WorkerLedger> workers)
    {
        var request = job.Resources;
        if (request.Problem() is { } problem) return $"invalid request: {problem}";
        if (workers.Count == 0) return null;

        var required = job.RequiredTagsOrEmpty;
        var tagged = workers.Where(w => w.HasTags(required)).ToList();
        if (tagged.Count == 0)
            return $"needs tags [{string.Join(", ", required)}], which no worker has";
        if (tagged.Any(w => w.CouldEverFit(request))) return null;

        // Name the single constraint that fails everywhere, most specific first; "workers with tags" when tags narrow it.
        var where = required.IsEmpty ? "worker" : $"worker with tags [{string.Join(", ", required)}]";
        var mostGpus = tagged.Max(w => w.Capacity.GpusOrEmpty.Length);
        if (request.Gpus > mostGpus)
            return $"asks for {Count(request.Gpus, "GPU")}, the largest {where} has {mostGpus}";

        var mostBigEnough = tagged.Max(w =>
            w.Capacity.GpusOrEmpty.Count(g => g.TotalMemoryBytes >= request.GpuMemoryBytes));
        if (request.Gpus > mostBigEnough)
        {
            var largestGpu = tagged.SelectMany(w => w.Capacity.GpusOrEmpty).Max(g => g.TotalMemoryBytes);
            return $"asks for {Count(request.Gpus, "GPU")} with {ByteSize.Format(request.GpuMemoryBytes)} each; "
                + $"no {where} has more than {mostBigEnough} that large (the largest GPU has "
                + $"{ByteSize.Format(largestGpu)})";
        }

        var mostCpu = tagged.Max(w => w.Capacity.CpuSlots);
        if (request.CpuSlots > mostCpu)
            return $"asks for {Count(request.CpuSlots, "CPU slot")}, the largest {where} has {mostCpu}";

        return $"asks for {request}, and no single {where} has all of it";
    }

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
