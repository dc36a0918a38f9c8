using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>One thing a <see cref="SchedulingPlan"/> tells the control plane to do about the run <paramref name="RunId"/>.</summary>
public abstract record SchedulingDecision(string RunId);

/// <summary>Start the queued run on this worker with exactly these GPUs and this many CPU slots.</summary>
public sealed record Place(string RunId, string WorkerId, ImmutableArray<int> GpuIndexes, int CpuSlots)
    : SchedulingDecision(RunId)
{
    // Value equality over the GPU indexes, so that two plans from the same input compare equal.
    public bool Equals(Place? other) =>
        other is not null && RunId == other.RunId && WorkerId == other.WorkerId && CpuSlots == other.CpuSlots
        && GpuIndexes.AsSpan().SequenceEqual(other.GpuIndexes.AsSpan());

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(RunId);
        hash.Add(WorkerId);
        hash.Add(CpuSlots);
        foreach (var index in GpuIndexes.IsDefault ? [] : GpuIndexes) hash.Add(index);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"Place {RunId} on {WorkerId} gpus [{string.Join(",", GpuIndexes.IsDefault ? [] : GpuIndexes)}] cpu {CpuSlots}";
}

/// <summary>
/// Stop the running run <paramref name="RunId"/> gracefully (it keeps its checkpoint and resumes later) to make room
/// for <paramref name="ForRunId"/>, which a later plan places once the victims have stopped.
/// </summary>
public sealed record Preempt(string RunId, string ForRunId, string WorkerId) : SchedulingDecision(RunId)
{
    public override string ToString() => $"Preempt {RunId} on {WorkerId} for {ForRunId}";
}

/// <summary>The queued run can never fit any worker as they are now; waiting would be forever.</summary>
public sealed record Unschedulable(string RunId, string Reason) : SchedulingDecision(RunId)
{
    public override string ToString() => $"Unschedulable {RunId}: {Reason}";
}
