using Moe.Platform.Datasets;

namespace Moe.Platform.Grains.Datasets;

/// <summary>
/// A created dataset's behaviour over its persisted <see cref="DatasetState"/>: versions are numbered 1, 2, ...,
/// start Preparing, and end Ready (never changed again) or Failed. Works on a copy of the state, so a refused change
/// or a failed save leaves the grain's state as the database holds it. Plain class: the grain only loads, saves and
/// starts preparations.
/// </summary>
public sealed class DatasetRecord
{
    /// <summary>Field of every refusal a run sees, so the API can point at the run's data section.</summary>
    public const string RunField = "data.datasets";

    private readonly DatasetState _state;

    private DatasetRecord(string datasetId, DatasetState state)
    {
        DatasetId = datasetId;
        _state = state;
    }

    public string DatasetId { get; }

    /// <summary>Versions registered and not yet prepared: after a restart their preparation starts again.</summary>
    public IEnumerable<DatasetVersionEntry> Preparing => _state.Versions.Where(v => v.State == DatasetVersionState.Preparing);

    public static DatasetRecord Create(string datasetId, string? description, TimeProvider time) =>
        new(datasetId, new DatasetState { CreatedAt = time.GetUtcNow(), Description = description });

    public static DatasetRecord Restore(string datasetId, DatasetState state) =>
        state.CreatedAt is null
            ? throw new ArgumentException("the dataset was never created", nameof(state))
            : new(datasetId, state.Copy());

    /// <summary>Registers the next version, Preparing, from an already validated request.</summary>
    public DatasetVersionEntry AddVersion(DatasetVersionRequest request, TimeProvider time)
    {
        var entry = new DatasetVersionEntry
        {
            Version = _state.Versions.Count == 0 ? 1 : _state.Versions.Max(v => v.Version) + 1,
            State = DatasetVersionState.Preparing,
            Sources = [.. request.Sources],
            TokenizerKey = request.TokenizerKey,
            TrainTokenizerVocab = request.TrainTokenizerVocab,
            ValidationFraction = request.ValidationFraction,
            CreatedAt = time.GetUtcNow(),
        };
        _state.Versions.Add(entry);
        return entry;
    }

    /// <summary>Records a finished preparation; false (nothing changed) unless the version was still Preparing.</summary>
    public bool MarkReady(int version, DatasetPreparationResult result, TimeProvider time)
    {
        if (Find(version) is not { State: DatasetVersionState.Preparing } entry) return false;
        entry.State = DatasetVersionState.Ready;
        entry.ContentHash = result.ContentHash;
        entry.TrainTokens = result.TrainTokens;
        entry.ValidationTokens = result.ValidationTokens;
        entry.TokenizerSha256 = result.TokenizerSha256;
        entry.VocabularyHash = result.VocabularyHash;
        entry.ReadyAt = time.GetUtcNow();
        return true;
    }

    /// <summary>Records a failed preparation; false (nothing changed) unless the version was still Preparing.</summary>
    public bool MarkFailed(int version, string error)
    {
        if (Find(version) is not { State: DatasetVersionState.Preparing } entry) return false;
        entry.State = DatasetVersionState.Failed;
        entry.Error = string.IsNullOrWhiteSpace(error) ? "preparation failed" : error;
        return true;
    }

    /// <summary>The version a run trains on: <paramref name="version"/>, or the newest Ready one.</summary>
    public DatasetVersionSnapshot ResolveForRun(int? version)
    {
        if (version is null)
        {
            var newest = _state.Versions.Where(v => v.State == DatasetVersionState.Ready).MaxBy(v => v.Version)
                ?? throw new PlatformException(RunField, $"dataset '{DatasetId}' has no ready version{PendingHint()}");
            return Snapshot(newest);
        }
        var entry = Find(version.Value)
            ?? throw new PlatformException(RunField, $"dataset '{DatasetId}' version {version} not found");
        return entry.State switch
        {
            DatasetVersionState.Ready => Snapshot(entry),
            DatasetVersionState.Preparing => throw new PlatformException(RunField, $"dataset '{DatasetId}' version {version} is still preparing"),
            _ => throw new PlatformException(RunField, $"dataset '{DatasetId}' version {version} failed to prepare: {entry.Error}"),
        };
    }

    private string PendingHint() =>
        _state.Versions.Any(v => v.State == DatasetVersionState.Preparing) ? " (a version is still preparing)" : "";

    public DatasetVersionEntry? Find(int version) => _state.Versions.FirstOrDefault(v => v.Version == version);

    /// <summary>A copy of the state to save; the record keeps working on its own.</summary>
    public DatasetState ToState() => _state.Copy();

    public DatasetPreparationJob JobFor(DatasetVersionEntry entry) => new(
        DatasetId, entry.Version, DatasetLayout.Prefix(DatasetId, entry.Version), [.. entry.Sources], entry.TokenizerKey,
        entry.TrainTokenizerVocab, entry.ValidationFraction, entry.CreatedAt);

    public DatasetSnapshot Snapshot() =>
        new(DatasetId, _state.Description, _state.CreatedAt!.Value, [.. _state.Versions.Select(Snapshot)]);

    public DatasetVersionSnapshot Snapshot(DatasetVersionEntry v) => new(
        DatasetId, v.Version, v.State, DatasetLayout.Prefix(DatasetId, v.Version), [.. v.Sources], v.ContentHash,
        v.TrainTokens, v.ValidationTokens, v.TokenizerSha256, v.Error, v.CreatedAt, v.ReadyAt);
}
