using Moe.Platform.Grains.Storage;
using Microsoft.Extensions.Logging;
using Moe.Platform.Grains.Checkpoints;
using Moe.Platform.Models;

namespace Moe.Platform.Grains.Models;

/// <summary>
/// A registered model (keyed by name): loads a <see cref="ModelCatalog"/>, applies the change and saves; the
/// <see cref="ModelProjection"/> keeps <c>model_versions</c> and <c>model_aliases</c> in step. A version holds a pin
/// on its checkpoint for as long as it exists: pinned before it is saved, unpinned after it is deleted, so retention
/// can never remove a checkpoint a saved version points at.
/// </summary>
public sealed class ModelRegistryGrain(
    [PersistentState("model", PlatformStorage.Name)] IPersistentState<ModelRegistryState> state,
    TimeProvider time, ILogger<ModelRegistryGrain> logger)
    : Grain, IModelRegistryGrain
{
    private string ModelName => this.GetPrimaryKeyString();

    public async Task<ModelVersionSnapshot> RegisterVersionAsync(string runId, long step, string? description)
    {
        var catalog = Catalog();
        PlatformIds.Require(runId, "run_id");
        description = TextRules.Description(description, "description");
        // Calls are not interleaved, so the number is still free when the save below happens.
        var holder = ModelCatalog.PinHolder(ModelName, catalog.NextVersion);
        var checkpoints = GrainFactory.GetCheckpoints(runId);
        var checkpoint = await checkpoints.PinAsync(step, holder); // not found: field "step", nothing pinned
        try
        {
            var version = catalog.Add(checkpoint, description, time.GetUtcNow());
            await state.WriteOrRevertAsync(catalog.ToState());
            return catalog.Snapshot(version);
        }
        catch
        {
            await UnpinAsync(runId, step, holder); // the version does not exist, so neither may its pin
            throw;
        }
    }

    public Task<ModelSnapshot> GetAsync() => Task.FromResult(Catalog().Snapshot());

    public Task<ModelVersionSnapshot> ResolveAsync(string versionOrAlias)
    {
        var catalog = Catalog();
        return Task.FromResult(catalog.Snapshot(catalog.Resolve(versionOrAlias)));
    }

    public async Task<ModelSnapshot> SetAliasAsync(string alias, int version)
    {
        var catalog = Catalog();
        if (catalog.SetAlias(alias, version)) await state.WriteOrRevertAsync(catalog.ToState());
        return catalog.Snapshot();
    }

    public async Task<ModelSnapshot> RemoveAliasAsync(string alias)
    {
        var catalog = Catalog();
        catalog.RemoveAlias(alias);
        await state.WriteOrRevertAsync(catalog.ToState());
        return catalog.Snapshot();
    }

    public async Task<ModelSnapshot> DeleteVersionAsync(int version)
    {
        var catalog = Catalog();
        var removed = catalog.Delete(version);
        await state.WriteOrRevertAsync(catalog.ToState());
        // Unpinned only now: until the save the version existed and needed its checkpoint.
        await UnpinAsync(removed.RunId, removed.Step, ModelCatalog.PinHolder(ModelName, removed.Version));
        return catalog.Snapshot();
    }

    private ModelCatalog Catalog() => new(ModelName, state.State);

    /// <summary>
    /// Best effort: a pin left behind only keeps a checkpoint longer than needed (its holder's version number is
    /// never reused), while failing here would report a change that did happen as failed.
    /// </summary>
    private async Task UnpinAsync(string runId, long step, string holder)
    {
        try
        {
            await GrainFactory.GetCheckpoints(runId).UnpinAsync(step, holder);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "could not unpin checkpoint step {Step} of run {Run} for {Holder}; it stays kept until unpinned",
                step, runId, holder);
        }
    }
}
