using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Worker.Checkpoints;

/// <summary>A checkpoint now complete in the artifact store: what the control plane records as the run's checkpoint.</summary>
/// <param name="Prefix">Its store folder, <c>runs/&lt;runId&gt;/checkpoints/step-XXXXXXXX</c>.</param>
/// <param name="Artifacts">Every file, ordered by key, with its recorded SHA-256.</param>
public sealed record CheckpointUpload(long Step, string Prefix, IReadOnlyList<ArtifactInfo> Artifacts)
{
    public long TotalBytes => Artifacts.Sum(a => a.Length);
}
