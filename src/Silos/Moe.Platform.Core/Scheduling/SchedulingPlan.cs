using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// The output of one <see cref="Scheduler.Plan"/> pass, decisions in the order they were made (highest priority
/// first). Queued runs that appear in no decision simply wait for the next pass.
/// </summary>
public sealed record SchedulingPlan(ImmutableArray<SchedulingDecision> Decisions)
{
    public IEnumerable<Place> Placements => Decisions.OfType<Place>();
    public IEnumerable<Preempt> Preemptions => Decisions.OfType<Preempt>();
    public IEnumerable<Unschedulable> Unschedulable => Decisions.OfType<Unschedulable>();

    // Value equality over the decisions, so that determinism is a plain Assert.Equal.
    public bool Equals(SchedulingPlan? other) =>
        other is not null && Decisions.SequenceEqual(other.Decisions);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var decision in Decisions) hash.Add(decision);
        return hash.ToHashCode();
    }

    public override string ToString() => string.Join(Environment.NewLine, Decisions);
}
