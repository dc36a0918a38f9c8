using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// A run waiting for placement. Higher <paramref name="Priority"/> goes first; <paramref name="RequiredTags"/>
/// restricts it to workers carrying all of them.
/// </summary>
public sealed record QueuedJob(
    string RunId, string ExperimentId, int Priority, DateTimeOffset EnqueuedAt, ResourceRequest Resources,
    ImmutableArray<string> RequiredTags = default)
{
    public ImmutableArray<string> RequiredTagsOrEmpty => RequiredTags.IsDefault ? [] : RequiredTags;
}
