using Orleans;

namespace Moe.Platform.Experiments;

/// <summary>
/// One experiment, keyed by its id: a named group of runs. Names are unique across the platform (also among deleted
/// experiments, so a name always means one thing in history). Calls on an experiment never created throw a not-found
/// <see cref="PlatformException"/> (field "experiment_id").
/// </summary>
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Creates it; a taken name or a second create is refused (field "name" / "experiment_id").</summary>
    Task<ExperimentSnapshot> CreateAsync(ExperimentSpec spec);

    Task<ExperimentSnapshot> GetAsync();

    /// <summary>Renames it or changes its description (null leaves a field as it is).</summary>
    Task<ExperimentSnapshot> UpdateAsync(string? name, string? description);

    /// <summary>
    /// Marks it deleted (its runs and their checkpoints stay, models may reference them). Refused while any of its
    /// runs has not ended (field "experiment_id", naming them).
    /// </summary>
    Task<ExperimentSnapshot> DeleteAsync();

    /// <summary>
    /// A run of this experiment is being created: throws when the experiment does not exist or is deleted, else
    /// remembers the run as active until <see cref="RunEndedAsync"/>.
    /// </summary>
    Task AdmitRunAsync(string runId);

    /// <summary>The run has ended (Succeeded, Failed or Cancelled); it no longer blocks deletion.</summary>
    Task RunEndedAsync(string runId);
}

/// <summary>What a user gives to create an experiment.</summary>
[GenerateSerializer, Immutable]
public sealed record ExperimentSpec(string Name, string? Description = null, string Project = "default")
{
    /// <summary>The spec as stored (name trimmed, description normalised), or a refusal naming the field.</summary>
    public ExperimentSpec Validated()
    {
        if (string.IsNullOrWhiteSpace(Project)) throw new PlatformException("project", "is required");
        return this with { Name = TextRules.Name(Name, "name"), Description = TextRules.Description(Description, "description") };
    }
}

[GenerateSerializer, Immutable]
public sealed record ExperimentSnapshot(
    string ExperimentId, string Name, string? Description, string Project, DateTimeOffset CreatedAt, DateTimeOffset? DeletedAt,
    IReadOnlyList<string> ActiveRunIds);
