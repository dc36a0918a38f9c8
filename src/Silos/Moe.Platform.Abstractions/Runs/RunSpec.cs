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

    /// <summary>More retries than any lost process deserves: past this, something is wrong that retrying will not fix.</summary>
    public const int MaxRetriesLimit = 100;

    /// <summary>Priorities lie in [-MaxPriority, MaxPriority]; higher is placed first.</summary>
    public const int MaxPriority = 1_000_000;

    /// <summary>Refuses a malformed spec, naming the field (the API maps it to a 400).</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ExperimentId)) throw new PlatformException("experiment_id", "is required");
        TextRules.Name(Name, "name");
        if (Priority is < -MaxPriority or > MaxPriority) throw new PlatformException("priority", $"must be between {-MaxPriority} and {MaxPriority}, got {Priority}");
        if (Resources is null) throw new PlatformException("resources", "is required");
        Resources.Validate();
        if (string.IsNullOrWhiteSpace(ConfigJson)) throw new PlatformException("config", "is required");
        if (MaxRetries is < 0 or > MaxRetriesLimit) throw new PlatformException("max_retries", $"must be between 0 and {MaxRetriesLimit}, got {MaxRetries}");
        for (int i = 0; i < RequiredTagsOrEmpty.Length; i++) TextRules.Name(RequiredTagsOrEmpty[i], $"required_tags[{i}]", 64);
    }
}
