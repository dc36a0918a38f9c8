using Orleans;
using System.Collections.Immutable;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Serialization;

[GenerateSerializer, Immutable]
internal readonly record struct RunningJobSurrogate(
    string RunId, string ExperimentId, int Priority, string WorkerId, ImmutableArray<int> GpuIndexes, int CpuSlots,
    DateTimeOffset StartedAt, bool Stopping, bool ProcessStarted);

[RegisterConverter]
internal sealed class RunningJobConverter : IConverter<RunningJob, RunningJobSurrogate>
{
    public RunningJob ConvertFromSurrogate(in RunningJobSurrogate surrogate) =>
        new(surrogate.RunId, surrogate.ExperimentId, surrogate.Priority, surrogate.WorkerId, surrogate.GpuIndexes,
            surrogate.CpuSlots, surrogate.StartedAt, surrogate.Stopping, surrogate.ProcessStarted);

    public RunningJobSurrogate ConvertToSurrogate(in RunningJob value) =>
        new(value.RunId, value.ExperimentId, value.Priority, value.WorkerId, value.GpuIndexesOrEmpty, value.CpuSlots,
            value.StartedAt, value.Stopping, value.ProcessStarted);
}
