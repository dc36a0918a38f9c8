namespace Moe.Platform.Storage.Artifacts;

/// <summary>Thrown by reads of a key that has no artifact; a <see cref="FileNotFoundException"/> so callers that
/// already handle missing files handle it too.</summary>
public sealed class ArtifactNotFoundException(string key)
    : FileNotFoundException($"artifact '{key}' does not exist", key)
{
    public string Key { get; } = key;
}
