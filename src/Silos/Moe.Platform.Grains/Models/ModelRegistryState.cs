namespace Moe.Platform.Grains.Models;

/// <summary>What a model-registry grain persists. No versions and <see cref="LastVersion"/> 0: nothing registered yet.</summary>
[GenerateSerializer]
public sealed class ModelRegistryState
{
    /// <summary>By version ascending.</summary>
    [Id(0)] public List<ModelVersionState> Versions { get; set; } = [];
    /// <summary>Alias -> version.</summary>
    [Id(1)] public Dictionary<string, int> Aliases { get; set; } = [];
    /// <summary>The highest version ever given: numbers are never reused, so a version's pin holder stays unique.</summary>
    [Id(2)] public int LastVersion { get; set; }
}

/// <summary>One registered version: a checkpoint of a run, as it was when registered.</summary>
[GenerateSerializer]
public sealed record ModelVersionState(
    int Version, string RunId, long Step, string ArtifactPrefix, string ManifestSha256, string? Description,
    DateTimeOffset CreatedAt);
