using Orleans;

namespace Moe.Platform.Checkpoints;

/// <summary>
/// The checkpoints of one run in artifact storage, keyed by the run id. The worker records each checkpoint once it is
/// completely uploaded; the registry applies retention (keep the last <c>KeepLast</c> and the best by validation loss)
/// by deleting the others from the store, but never one that a model version pins. Rows land in the
/// <c>checkpoints</c> table for the portal.
/// </summary>
public interface ICheckpointRegistryGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records an uploaded checkpoint (recording the same step again with the same manifest is a no-op; a different
    /// manifest is refused) and applies retention. Returns the steps retention deleted.
    /// </summary>
    Task<IReadOnlyList<long>> RecordAsync(CheckpointRecord checkpoint, int keepLast);

    /// <summary>Every checkpoint kept, by step ascending.</summary>
    Task<IReadOnlyList<CheckpointRecord>> ListAsync();

    /// <summary>The newest checkpoint, or null when none was recorded (where a resumed run starts).</summary>
    Task<CheckpointRecord?> LatestAsync();

    /// <summary>The checkpoint at <paramref name="step"/>; not found (field "step") when there is none.</summary>
    Task<CheckpointRecord> GetAsync(long step);

    /// <summary>Protects a checkpoint from retention for <paramref name="holder"/> (e.g. "model:moe-small/3").</summary>
    Task<CheckpointRecord> PinAsync(long step, string holder);

    /// <summary>Removes a pin; the checkpoint is deleted at the next retention pass when nothing else keeps it.</summary>
    Task UnpinAsync(long step, string holder);
}

/// <summary>One complete checkpoint in artifact storage.</summary>
/// <param name="ArtifactPrefix">Key prefix of its files (runs/&lt;run&gt;/checkpoints/step-NNNNNNNN).</param>
/// <param name="ManifestSha256">SHA-256 of its manifest.json, which hashes every file.</param>
/// <param name="PinnedBy">Holders that keep it from retention (model versions).</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointRecord(
    string RunId, long Step, string ArtifactPrefix, string ManifestSha256, long SizeBytes, double? ValLoss,
    DateTimeOffset CreatedAt, IReadOnlyList<string> PinnedBy);
