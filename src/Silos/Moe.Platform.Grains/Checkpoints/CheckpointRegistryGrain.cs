using Moe.Platform.Grains.Storage;
using Microsoft.Extensions.Logging;
using Moe.Platform.Checkpoints;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Grains.Checkpoints;

/// <summary>
/// The checkpoints of one run (keyed by run id): loads a <see cref="CheckpointCatalog"/>, applies the change, saves
/// (the <see cref="CheckpointProjection"/> keeps the <c>checkpoints</c> table in step), and only then deletes the
/// files of the checkpoints retention dropped. Unpinning deletes nothing by itself: the next
/// <see cref="RecordAsync"/> applies retention.
/// </summary>
public sealed class CheckpointRegistryGrain(
    [PersistentState("checkpoints", PlatformStorage.Name)] IPersistentState<CheckpointRegistryState> state,
    IArtifactStore artifacts, TimeProvider time, ILogger<CheckpointRegistryGrain> logger)
    : Grain, ICheckpointRegistryGrain
{
    private string RunId => this.GetPrimaryKeyString();

    public async Task<IReadOnlyList<long>> RecordAsync(CheckpointRecord checkpoint, int keepLast)
    {
        var catalog = Catalog();
        var outcome = catalog.Record(checkpoint, keepLast, time.GetUtcNow());
        if (!outcome.Added) return Array.Empty<long>();

        // Saved before any file is deleted: the registry and the table never list a checkpoint whose files may be
        // gone. A delete that fails afterwards only leaves orphan files behind.
        await state.WriteOrRevertAsync(catalog.ToState());
        foreach (var deleted in outcome.Deleted) await DeleteFilesAsync(deleted);
        return outcome.Deleted.Select(c => c.Step).ToArray();
    }

    public Task<IReadOnlyList<CheckpointRecord>> ListAsync() => Task.FromResult(Catalog().Checkpoints);

    public Task<CheckpointRecord?> LatestAsync() => Task.FromResult(Catalog().Latest);

    public Task<CheckpointRecord> GetAsync(long step) => Task.FromResult(Catalog().Get(step));

    public async Task<CheckpointRecord> PinAsync(long step, string holder)
    {
        var catalog = Catalog();
        if (catalog.Pin(step, holder)) await state.WriteOrRevertAsync(catalog.ToState());
        return catalog.Get(step);
    }

    public async Task UnpinAsync(long step, string holder)
    {
        var catalog = Catalog();
        if (catalog.Unpin(step, holder)) await state.WriteOrRevertAsync(catalog.ToState());
    }

    private CheckpointCatalog Catalog() => new(RunId, state.State);

    private async Task DeleteFilesAsync(CheckpointRecord checkpoint)
    {
        // The trailing '/' keeps step-00000010 from matching step-000000100's files.
        var prefix = checkpoint.ArtifactPrefix + "/";
        try
        {
            var files = await artifacts.DeletePrefixAsync(prefix);
            logger.LogInformation("retention deleted checkpoint step {Step} of run {Run} ({Files} files under {Prefix})",
                checkpoint.Step, RunId, files, prefix);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "retention could not delete the files of checkpoint step {Step} of run {Run} under {Prefix}; they are orphaned",
                checkpoint.Step, RunId, prefix);
        }
    }
}
