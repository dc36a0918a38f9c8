namespace Moe.Platform.Storage.Artifacts;

/// <summary>What the store recorded for one artifact.</summary>
/// <param name="Key">The artifact's key, e.g. <c>runs/r1/checkpoints/step-00000200/model.safetensors</c>.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="Sha256">The SHA-256 of its bytes as lowercase hex, computed while it was uploaded; empty for an object
/// the store did not write (a blob put into the container by other means), which downloads refuse.</param>
/// <param name="LastModified">When it was last written (UTC).</param>
public sealed record ArtifactInfo(string Key, long Length, string Sha256, DateTimeOffset LastModified);
