using System.Collections.Immutable;
using Moe.Platform.Scheduling;
using Orleans;

namespace Moe.Platform.Runs;

/// <summary>
/// What a user submits to start a training run: the experiment it belongs to, a display name, its priority (higher
/// is placed first and may preempt lower), what it needs on one worker, the trainer's run config as JSON, and how many
/// times a lost process may be retried. <paramref name="RequiredTags"/> limits it to workers carrying all of them.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RunSpec(
    string ExperimentId, string Name, int Priority, ResourceRequest Resources, string ConfigJson, int MaxRetries,
    ImmutableArray<string> RequiredTags = default)
{
    public ImmutableArray<string> RequiredTagsOrEmpty => RequiredTags.IsDefault ? [] : RequiredTags;

    /// <summary>The config's <c>training.steps</c> (admission has validated the config), for progress; null when it has none.</summary>
    public long? TotalSteps() =>
        System.Text.Json.Nodes.JsonNode.Parse(ConfigJson)?["training"]?["steps"] is System.Text.Json.Nodes.JsonValue v
        && v.TryGetValue<long>(out var steps) ? steps : null;

    /// <summary>Refuses a malformed spec, naming the field (the API maps it to a 400).</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ExperimentId)) throw new PlatformException("experiment_id", "is required");
        if (string.IsNullOrWhiteSpace(Name)) throw new PlatformException("name", "is required");
        if (Resources is null) throw new PlatformException("resources", "is required");
        Resources.Validate();
        if (string.IsNullOrWhiteSpace(ConfigJson)) throw new PlatformException("config", "is required");
        if (MaxRetries < 0) throw new PlatformException("max_retries", $"must be 0 or more, got {MaxRetries}");
    }
}
