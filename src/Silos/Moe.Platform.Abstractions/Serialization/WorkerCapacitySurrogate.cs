using Orleans;
using System.Collections.Immutable;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Serialization;

[GenerateSerializer, Immutable]
internal readonly record struct WorkerCapacitySurrogate(
    string WorkerId, ImmutableArray<GpuInfo> Gpus, int CpuSlots, ImmutableArray<string> Tags, string? Incarnation);

[RegisterConverter]
internal sealed class WorkerCapacityConverter : IConverter<WorkerCapacity, WorkerCapacitySurrogate>
{
    public WorkerCapacity ConvertFromSurrogate(in WorkerCapacitySurrogate surrogate) =>
        new(surrogate.WorkerId, surrogate.Gpus, surrogate.CpuSlots, surrogate.Tags, surrogate.Incarnation);

    // The "OrEmpty" views: a default ImmutableArray means "none", and empty says so on the wire.
    public WorkerCapacitySurrogate ConvertToSurrogate(in WorkerCapacity value) =>
        new(value.WorkerId, value.GpusOrEmpty, value.CpuSlots, value.TagsOrEmpty, value.Incarnation);
}
