using Microsoft.Extensions.Logging;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Grains.Datasets;

/// <summary>
/// How a background preparation hands its outcome back to its dataset grain: as an ordinary grain call, so the change
/// is applied between requests rather than interleaved with one. Only <see cref="DatasetGrain"/> calls it.
/// </summary>
internal interface IDatasetPreparationSink : IGrainWithStringKey
{
    Task PreparedAsync(int version, DatasetPreparationResult result);

    Task PreparationFailedAsync(int version, string error);
}

/// <summary>
/// One dataset: loads its <see cref="DatasetRecord"/>, applies the change, saves (the projection keeps the tables in
/// step), and runs each Preparing version's <see cref="DatasetPreparer"/> job on the thread pool. The activation
/// stays alive while a job runs; one interrupted by deactivation or a restart runs again on the next activation.
/// </summary>
public sealed class DatasetGrain(
    [PersistentState("dataset", PlatformStorage.Name)] IPersistentState<DatasetState> state,
    DatasetPreparer preparer, IArtifactStore store, TimeProvider time, ILogger<DatasetGrain> logger)
    : Grain, IDatasetGrain, IDatasetPreparationSink
{
    private readonly HashSet<int> _preparing = [];
    private readonly CancellationTokenSource _deactivating = new();

    private string DatasetId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.CreatedAt is not null)
        {
            var dataset = DatasetRecord.Restore(DatasetId, state.State);
            foreach (var version in dataset.Preparing) StartPreparing(dataset.JobFor(version));
        }
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating.Cancel(); // the next activation prepares it again from the stored request
        return Task.CompletedTask;
    }

    public async Task<DatasetSnapshot> CreateAsync(string? description)
    {
        PlatformIds.Require(DatasetId, "dataset_id");
        if (state.State.CreatedAt is not null) throw PlatformException.Conflict("dataset_id", $"dataset '{DatasetId}' already exists");
        var dataset = DatasetRecord.Create(DatasetId, TextRules.Description(description, "description"), time);
        await state.WriteOrRevertAsync(dataset.ToState());
        return dataset.Snapshot();
    }

    public Task<DatasetSnapshot> GetAsync() => Task.FromResult(Existing().Snapshot());

    public async Task<DatasetVersionSnapshot> AddVersionAsync(DatasetVersionRequest request)
    {
        Existing();
        // Every check runs before anything is saved; the state is read again after these awaits.
        var valid = await DatasetRequestValidator.ValidateAsync(request, store);
        var dataset = Existing();
        var version = dataset.AddVersion(valid, time);
        await state.WriteOrRevertAsync(dataset.ToState());
        StartPreparing(dataset.JobFor(version));
        return dataset.Snapshot(version);
    }

    public Task<DatasetVersionSnapshot> ResolveForRunAsync(int? version)
    {
        if (state.State.CreatedAt is null)
            throw new PlatformException(DatasetRecord.RunField, $"dataset '{DatasetId}' not found");
        return Task.FromResult(Existing().ResolveForRun(version));
    }

    public Task PreparedAsync(int version, DatasetPreparationResult result) =>
        FinishAsync(version, dataset => dataset.MarkReady(version, result, time));

    public Task PreparationFailedAsync(int version, string error) =>
        FinishAsync(version, dataset => dataset.MarkFailed(version, error));

    private async Task FinishAsync(int version, Func<DatasetRecord, bool> change)
    {
        try
        {
            var dataset = Existing();
            if (change(dataset)) await state.WriteOrRevertAsync(dataset.ToState());
        }
        finally
        {
            _preparing.Remove(version);
            if (_preparing.Count == 0) DelayDeactivation(TimeSpan.Zero); // back to normal idle collection
        }
    }

    private void StartPreparing(DatasetPreparationJob job)
    {
        if (!_preparing.Add(job.Version)) return;
        DelayDeactivation(Timeout.InfiniteTimeSpan); // idle collection must not cut a preparation short
        var sink = GrainFactory.GetGrain<IDatasetPreparationSink>(DatasetId);
        var stopping = _deactivating.Token;
        _ = Task.Run(() => PrepareAndReportAsync(job, sink, stopping), CancellationToken.None);
    }

    /// <summary>Runs on the thread pool: touches no grain state, reports through <paramref name="sink"/>.</summary>
    private async Task PrepareAndReportAsync(DatasetPreparationJob job, IDatasetPreparationSink sink, CancellationToken stopping)
    {
        try
        {
            DatasetPreparationResult result;
            try
            {
                result = await preparer.PrepareAsync(job, stopping);
            }
            catch (DatasetPreparationException e)
            {
                logger.LogWarning("dataset {Dataset} version {Version} failed to prepare: {Error}", job.DatasetId, job.Version, e.Message);
                await sink.PreparationFailedAsync(job.Version, e.Message);
                return;
            }
            await sink.PreparedAsync(job.Version, result);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Deactivated mid-way: the version is still Preparing in storage and restarts with the next activation.
        }
        catch (Exception e)
        {
            // The outcome could not be saved; the version stays Preparing and is prepared again on reactivation.
            logger.LogError(e, "dataset {Dataset} version {Version}: could not record the preparation's outcome", job.DatasetId, job.Version);
        }
    }

    private DatasetRecord Existing() =>
        state.State.CreatedAt is not null
            ? DatasetRecord.Restore(PlatformIds.Require(DatasetId, "dataset_id"), state.State)
            : throw PlatformException.NotFound("dataset_id", $"dataset '{DatasetId}' not found");
}
