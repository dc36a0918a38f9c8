using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// One worker's resources during a single plan: what is free now, what runs already asked to stop will free
/// ("pending"), and which runs could still be preempted. Placements and reservations made earlier in the same plan
/// are subtracted here, which is what keeps one plan from booking a GPU or CPU slot twice.
/// </summary>
internal sealed class WorkerLedger
{
    private readonly Dictionary<int, GpuInfo> _gpuByIndex = [];
    private readonly SortedDictionary<int, GpuInfo> _freeGpus = [];
    private readonly SortedDictionary<int, GpuInfo> _pendingGpus = [];
    private readonly List<RunningJob> _preemptible = [];
    private int _freeCpu;
    private int _pendingCpu;

    public WorkerLedger(WorkerCapacity capacity, IEnumerable<RunningJob> runsOnIt)
    {
        Capacity = capacity;
        foreach (var gpu in capacity.GpusOrEmpty)
        {
            _gpuByIndex[gpu.Index] = gpu;
            _freeGpus[gpu.Index] = gpu;
        }
        _freeCpu = capacity.CpuSlots;
        foreach (var run in runsOnIt)
        {
            foreach (var index in run.GpuIndexesOrEmpty)
            {
                // An index the worker no longer reports is ignored rather than trusted.
                if (_freeGpus.Remove(index, out var gpu) && run.Stopping) _pendingGpus[index] = gpu;
            }
            _freeCpu -= run.CpuSlots;
            if (run.Stopping) _pendingCpu += run.CpuSlots;
            else _preemptible.Add(run);
        }
    }

    public WorkerCapacity Capacity { get; }
    public string WorkerId => Capacity.WorkerId;
    public int FreeGpuCount => _freeGpus.Count;
    public int FreeCpu => _freeCpu;

    public bool HasTags(ImmutableArray<string> required) => required.All(Capacity.TagsOrEmpty.Contains);

    /// <summary>Whether the request fits this worker when nothing at all runs on it.</summary>
    public bool CouldEverFit(ResourceRequest request) =>
        Capacity.CpuSlots >= request.CpuSlots
        && Capacity.GpusOrEmpty.Count(g => g.TotalMemoryBytes >= request.GpuMemoryBytes) >= request.Gpus;

    /// <summary>
    /// The GPUs (ascending index) the request would get now, or null when it does not fit. Among suitable GPUs the
    /// ones with the least free memory go first, keeping the roomier ones for larger requests.
    /// </summary>
    public ImmutableArray<int>? TryFitNow(ResourceRequest request)
    {
        if (_freeCpu < request.CpuSlots) return null;
        var chosen = _freeGpus.Values
            .Where(g => g.FreeMemoryBytes >= request.GpuMemoryBytes)
            .OrderBy(g => g.FreeMemoryBytes).ThenBy(g => g.Index)
            .Take(request.Gpus).Select(g => g.Index).ToList();
        if (chosen.Count < request.Gpus) return null;
        chosen.Sort();
        return [.. chosen];
    }

    public void Allocate(ImmutableArray<int> gpuIndexes, int cpuSlots)
    {
        foreach (var index in gpuIndexes) _freeGpus.Remove(index);
        _freeCpu -= cpuSlots;
    }

    /// <summary>Strictly lower-priority runs that could be stopped, the cheapest to lose first.</summary>
    public IEnumerable<RunningJob> PreemptionCandidates(int belowPriority) =>
        _preemptible.Where(r => r.Priority < belowPriority)
            .OrderBy(r => r.Priority)
            .ThenByDescending(r => r.StartedAt) // the most recently started has the least work to lose
            .ThenBy(r => r.RunId, StringComparer.Ordinal);

    /// <summary>Whether the request fits once the runs already stopping and <paramref name="victims"/> have stopped.</summary>
    public bool FitsAfterStopping(ResourceRequest request, IReadOnlyCollection<RunningJob> victims)
    {
        if (_freeCpu + _pendingCpu + victims.Sum(v => v.CpuSlots) < request.CpuSlots) return false;
        // A GPU freed by a stopping run offers its total memory; a free one only what it reports free.
        var suitable = _freeGpus.Values.Count(g => g.FreeMemoryBytes >= request.GpuMemoryBytes)
            + _pendingGpus.Values.Count(g => g.TotalMemoryBytes >= request.GpuMemoryBytes)
            + VictimGpus(victims).Count(g => g.TotalMemoryBytes >= request.GpuMemoryBytes);
        return suitable >= request.Gpus;
    }

    /// <summary>
    /// Marks the victims as stopping and holds back what the request needs from the resources that will be free
    /// (stopping runs' first, then free ones), so that later, lower-ordered jobs in this plan cannot take them.
    /// Call only after <see cref="FitsAfterStopping"/> said yes for the same victims.
    /// </summary>
    public void ReserveAfterStopping(ResourceRequest request, IReadOnlyCollection<RunningJob> victims)
    {
        foreach (var gpu in VictimGpus(victims)) _pendingGpus[gpu.Index] = gpu;
        foreach (var victim in victims)
        {
            _preemptible.Remove(victim);
            _pendingCpu += victim.CpuSlots;
        }

        var fromPending = _pendingGpus.Values.Where(g => g.TotalMemoryBytes >= request.GpuMemoryBytes)
            .Take(request.Gpus).Select(g => g.Index).ToList();
        foreach (var index in fromPending) _pendingGpus.Remove(index);
        var fromFree = _freeGpus.Values.Where(g => g.FreeMemoryBytes >= request.GpuMemoryBytes)
            .OrderBy(g => g.FreeMemoryBytes).ThenBy(g => g.Index)
            .Take(request.Gpus - fromPending.Count).Select(g => g.Index).ToList();
        foreach (var index in fromFree) _freeGpus.Remove(index);

        var cpuFromPending = Math.Min(_pendingCpu, request.CpuSlots);
        _pendingCpu -= cpuFromPending;
        _freeCpu -= request.CpuSlots - cpuFromPending;
    }

    private IEnumerable<GpuInfo> VictimGpus(IEnumerable<RunningJob> victims) =>
        victims.SelectMany(v => v.GpuIndexesOrEmpty).Distinct()
            .Where(i => _gpuByIndex.ContainsKey(i) && !_freeGpus.ContainsKey(i) && !_pendingGpus.ContainsKey(i))
            .Select(i => _gpuByIndex[i]);
}
