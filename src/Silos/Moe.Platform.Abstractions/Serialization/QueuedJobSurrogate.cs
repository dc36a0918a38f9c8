using Orleans;
using System.Collections.Immutable;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Serialization;

[GenerateSerializer, Immutable]
internal readonly record struct QueuedJobSurrogate(
    string RunId, string ExperimentId, int Priority, DateTimeOffset EnqueuedAt, ResourceRequest Resources,
    ImmutableArray<string> RequiredTags);

[RegisterConverter]
internal sealed class QueuedJobConverter : IConverter<QueuedJob, QueuedJobSurrogate>
{
    public QueuedJob ConvertFromSurrogate(in QueuedJobSurrogate surrogate) =>
        new(surrogate.RunId, surrogate.ExperimentId, surrogate.Priority, surrogate.EnqueuedAt, surrogate.Resources,
            surrogate.RequiredTags);

    public QueuedJobSurrogate ConvertToSurrogate(in QueuedJob value) =>
        new(value.RunId, value.ExperimentId, value.Priority, value.EnqueuedAt, value.Resources,
            value.RequiredTagsOrEmpty);
}
