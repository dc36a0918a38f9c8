using Moe.Model.Training;

namespace Moe.Trainer;

/// <summary>The <c>--checkpoint</c> option: a checkpoint folder or a run folder (its newest checkpoint).</summary>
public static class CheckpointOption
{
    /// <summary>
    /// A path that is no checkpoint at all is bad usage (exit 2, the message names the option); a checkpoint that fails
    /// verification (corrupted, truncated) stays a <see cref="CheckpointException"/> (exit 1).
    /// </summary>
    public static Checkpoint Resolve(string path)
    {
        if (!Directory.Exists(path)) throw new UsageException($"--checkpoint: '{path}' is not a folder");
        if (!File.Exists(Path.Combine(path, CheckpointStore.ManifestFile)) && !Directory.Exists(Path.Combine(path, "checkpoints")))
            throw new UsageException($"--checkpoint: '{path}' is neither a checkpoint (no {CheckpointStore.ManifestFile}) nor a run folder (no checkpoints/)");
        return CheckpointStore.Resolve(path);
    }
}
