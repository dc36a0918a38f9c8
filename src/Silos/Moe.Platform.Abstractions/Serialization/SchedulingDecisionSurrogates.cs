using Orleans;
using System.Collections.Immutable;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Serialization;

// One surrogate per concrete decision: a field typed SchedulingDecision carries the runtime type, and each
// concrete type finds its own converter.

[GenerateSerializer, Immutable]
internal readonly record struct PlaceSurrogate(string RunId, string WorkerId, ImmutableArray<int> GpuIndexes, int CpuSlots);

[RegisterConverter]
internal sealed class PlaceConverter : IConverter<Place, PlaceSurrogate>
{
    public Place ConvertFromSurrogate(in PlaceSurrogate surrogate) =>
        new(surrogate.RunId, surrogate.WorkerId, surrogate.GpuIndexes.IsDefault ? [] : surrogate.GpuIndexes,
            surrogate.CpuSlots);

    public PlaceSurrogate ConvertToSurrogate(in Place value) =>
        new(value.RunId, value.WorkerId, value.GpuIndexes.IsDefault ? [] : value.GpuIndexes, value.CpuSlots);
}

[GenerateSerializer, Immutable]
internal readonly record struct PreemptSurrogate(string RunId, string ForRunId, string WorkerId);

[RegisterConverter]
internal sealed class PreemptConverter : IConverter<Preempt, PreemptSurrogate>
{
    public Preempt ConvertFromSurrogate(in PreemptSurrogate surrogate) =>
        new(surrogate.RunId, surrogate.ForRunId, surrogate.WorkerId);

    public PreemptSurrogate ConvertToSurrogate(in Preempt value) => new(value.RunId, value.ForRunId, value.WorkerId);
}

[GenerateSerializer, Immutable]
internal readonly record struct UnschedulableSurrogate(string RunId, string Reason);

[RegisterConverter]
internal sealed class UnschedulableConverter : IConverter<Unschedulable, UnschedulableSurrogate>
{
    public Unschedulable ConvertFromSurrogate(in UnschedulableSurrogate surrogate) =>
        new(surrogate.RunId, surrogate.Reason);

    public UnschedulableSurrogate ConvertToSurrogate(in Unschedulable value) => new(value.RunId, value.Reason);
}

[GenerateSerializer, Immutable]
internal readonly record struct SchedulingPlanSurrogate(ImmutableArray<SchedulingDecision> Decisions);

[RegisterConverter]
internal sealed class SchedulingPlanConverter : IConverter<SchedulingPlan, SchedulingPlanSurrogate>
{
    public SchedulingPlan ConvertFromSurrogate(in SchedulingPlanSurrogate surrogate) =>
        new(surrogate.Decisions.IsDefault ? [] : surrogate.Decisions);

    public SchedulingPlanSurrogate ConvertToSurrogate(in SchedulingPlan value) => new(value.Decisions);
}
