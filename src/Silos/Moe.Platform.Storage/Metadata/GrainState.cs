namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// Persisted state of one Orleans grain (for a grain storage provider). <see cref="ETag"/> is a concurrency token that
/// <see cref="PlatformDb"/> renews on every save: a write based on a stale ETag fails with DbUpdateConcurrencyException,
/// which the provider maps to Orleans' InconsistentStateException.
/// </summary>
public class GrainState
{
    public required string GrainType { get; set; }
    public required string GrainId { get; set; }
    public required string StateJson { get; set; }
    public string ETag { get; set; } = "";
    public DateTime UpdatedAt { get; set; } = DateTime.UtcNow;
}
