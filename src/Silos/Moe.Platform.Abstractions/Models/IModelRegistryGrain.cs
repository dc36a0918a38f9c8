using Orleans;

namespace Moe.Platform.Models;

/// <summary>
/// A registered model, keyed by its name: numbered versions (1, 2, ...), each one checkpoint of a run, and aliases
/// ("production", "staging") that point at a version and can move. A version pins its checkpoint in the run's
/// checkpoint registry, so retention never deletes it.
/// </summary>
public interface IModelRegistryGrain : IGrainWithStringKey
{
    /// <summary>Registers the checkpoint of <paramref name="runId"/> at <paramref name="step"/> as the next version.</summary>
    Task<ModelVersionSnapshot> RegisterVersionAsync(string runId, long step, string? description);

    Task<ModelSnapshot> GetAsync();

    /// <summary>A version by number or by alias ("3" or "production"); not found (field "version") otherwise.</summary>
    Task<ModelVersionSnapshot> ResolveAsync(string versionOrAlias);

    /// <summary>Points <paramref name="alias"/> at <paramref name="version"/> (moving it if it exists).</summary>
    Task<ModelSnapshot> SetAliasAsync(string alias, int version);

    Task<ModelSnapshot> RemoveAliasAsync(string alias);

    /// <summary>Deletes a version and unpins its checkpoint; refused while an alias points at it.</summary>
    Task<ModelSnapshot> DeleteVersionAsync(int version);
}

[GenerateSerializer, Immutable]
public sealed record ModelVersionSnapshot(
    string ModelName, int Version, string RunId, long Step, string ArtifactPrefix, string ManifestSha256, string? Description,
    DateTimeOffset CreatedAt, IReadOnlyList<string> Aliases);

[GenerateSerializer, Immutable]
public sealed record ModelSnapshot(string Name, IReadOnlyList<ModelVersionSnapshot> Versions, IReadOnlyDictionary<string, int> Aliases);
