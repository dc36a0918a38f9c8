using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Worker.Events;

namespace Moe.Platform.Worker.Checkpoints;

/// <summary>
/// Mirrors a run's checkpoints into the artifact store as the trainer reports them: each checkpoint folder uploaded
/// once (in event order, one at a time), and, unless told otherwise, the steps the trainer's retention deleted removed
/// from the store too. Under the control plane the checkpoint registry owns retention in the store (it keeps
/// checkpoints that models reference), so the worker turns the mirroring off.
/// Feed it every event of a job (and of the jobs that resume the run) with <see cref="HandleAsync"/>.
/// </summary>
/// <remarks>
/// The trainer does not wait for uploads, so retention may delete a folder before or while it is uploaded. Such a
/// checkpoint is skipped with a warning and whatever part of it reached the store removed: an upload counts only when
/// every file of the folder's manifest arrived with its SHA-256.
/// </remarks>
public sealed class CheckpointUploader
{
    private readonly IArtifactStore _store;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<long> _uploaded = [];
    private readonly bool _mirrorRetention;

    public CheckpointUploader(IArtifactStore store, string runId, ILogger? logger = null, bool mirrorRetention = true)
    {
        _mirrorRetention = mirrorRetention;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        RunId = runId;
        CheckpointArtifactKeys.RunCheckpoints(runId); // validates the id
        _logger = logger ?? NullLogger.Instance;
    }

    public string RunId { get; }

    /// <summary>The steps uploaded (and not deleted since), ascending.</summary>
    public IReadOnlyList<long> UploadedSteps
    {
        get { lock (_uploaded) return [.. _uploaded.Order()]; }
    }

    /// <summary>
    /// Learns which checkpoints the store already holds completely (a worker taking over a run, or restarted), so they
    /// are not uploaded again. A step counts when every file its stored manifest names is there with that SHA-256.
    /// </summary>
    public async Task LoadUploadedStepsAsync(CancellationToken cancellationToken = default)
    {
        var byStep = new Dictionary<long, List<ArtifactInfo>>();
        await foreach (var info in _store.ListAsync(CheckpointArtifactKeys.RunCheckpoints(RunId), cancellationToken))
            if (CheckpointArtifactKeys.StepOf(RunId, info.Key) is { } step)
                (byStep.TryGetValue(step, out var list) ? list : byStep[step] = []).Add(info);

        foreach (var (step, infos) in byStep)
        {
            var prefix = CheckpointArtifactKeys.Step(RunId, step);
            var manifestKey = ArtifactKey.Combine(prefix, CheckpointManifest.FileName);
            if (infos.All(i => i.Key != manifestKey)) continue;
            CheckpointManifest manifest;
            await using (var stream = await _store.OpenReadAsync(manifestKey, cancellationToken))
                manifest = await System.Text.Json.JsonSerializer.DeserializeAsync<CheckpointManifest>(stream, cancellationToken: cancellationToken)
                           ?? throw new InvalidDataException($"{manifestKey} is empty");
            if (MissingFile(manifest, prefix, infos) is null && Mismatch(manifest, prefix, infos) is null)
                lock (_uploaded) _uploaded.Add(step);
        }
    }

    /// <summary>
    /// Acts on one trainer event: uploads the folder of a <see cref="CheckpointWritten"/> (unless that step is already
    /// uploaded) and deletes its <c>deleted_steps</c>; on a resumed <see cref="TrainingStarted"/>, uploads the checkpoint
    /// it resumed from when missing (its event may have been lost with the process that wrote it). Other events are
    /// ignored. Returns the new upload, or null. Store failures propagate; calling again retries.
    /// </summary>
    public async Task<CheckpointUpload?> HandleAsync(TrainerEvent trainerEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainerEvent);
        (long Step, string Folder, IReadOnlyList<long> Deleted)? work = trainerEvent switch
        {
            CheckpointWritten c => (c.Step, c.Path, c.DeletedSteps),
            TrainingStarted { ResumedFrom: { } folder } s => (s.Step, folder, []),
            _ => null,
        };
        if (work is not { } w) return null;

        await _gate.WaitAsync(cancellationToken);
        try
        {
            CheckpointUpload? upload = null;
            bool seen;
            lock (_uploaded) seen = _uploaded.Contains(w.Step);
            if (seen) _logger.LogDebug("checkpoint step {Step} of run {Run} is already uploaded", w.Step, RunId);
            else upload = await UploadAsync(w.Step, w.Folder, cancellationToken);
            if (_mirrorRetention)
                foreach (var deleted in w.Deleted) await DeleteStepAsync(deleted, cancellationToken);
            return upload;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<CheckpointUpload?> UploadAsync(long step, string folder, CancellationToken cancellationToken)
    {
        var prefix = CheckpointArtifactKeys.Step(RunId, step);
        CheckpointManifest manifest;
        IReadOnlyList<ArtifactInfo> artifacts;
        try
        {
            // The manifest is written last, so reading it first proves the folder was complete when we began.
            manifest = await CheckpointManifest.ReadAsync(folder, cancellationToken);
            artifacts = await _store.UploadDirectoryAsync(prefix, folder, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException
                                  || (e is IOException && !Directory.Exists(folder)))
        {
            return await SkipVanishedAsync(step, folder, prefix, e.Message, cancellationToken);
        }

        // A file missing from the upload was deleted after the manifest was read: retention is removing the folder.
        if (MissingFile(manifest, prefix, artifacts) is { } missing)
            return await SkipVanishedAsync(step, folder, prefix, missing, cancellationToken);
        if (Mismatch(manifest, prefix, artifacts) is { } mismatch)
        {
            await _store.DeletePrefixAsync(prefix + "/", cancellationToken);
            throw new InvalidDataException($"checkpoint {folder} does not match its manifest: {mismatch}");
        }

        lock (_uploaded) _uploaded.Add(step);
        _logger.LogInformation("uploaded checkpoint step {Step} of run {Run}: {Files} files, {Bytes} bytes -> {Prefix}",
            step, RunId, artifacts.Count, artifacts.Sum(a => a.Length), prefix);
        return new CheckpointUpload(step, prefix, artifacts);
    }

    private async Task<CheckpointUpload?> SkipVanishedAsync(long step, string folder, string prefix, string why,
        CancellationToken cancellationToken)
    {
        _logger.LogWarning("checkpoint step {Step} of run {Run} vanished before it was uploaded (retention raced the upload): {Folder}: {Why}",
            step, RunId, folder, why);
        await _store.DeletePrefixAsync(prefix + "/", cancellationToken);
        return null;
    }

    private async Task DeleteStepAsync(long step, CancellationToken cancellationToken)
    {
        var removed = await _store.DeletePrefixAsync(CheckpointArtifactKeys.Step(RunId, step) + "/", cancellationToken);
        lock (_uploaded) _uploaded.Remove(step);
        _logger.LogInformation("deleted checkpoint step {Step} of run {Run} from the store ({Files} files), as retention did on disk",
            step, RunId, removed);
    }

    /// <summary>The first manifest file (or the manifest itself) absent from <paramref name="artifacts"/>, or null.</summary>
    private static string? MissingFile(CheckpointManifest manifest, string prefix, IEnumerable<ArtifactInfo> artifacts)
    {
        var keys = artifacts.Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        return manifest.Files.Select(f => f.Name).Prepend(CheckpointManifest.FileName)
            .Where(name => !keys.Contains(ArtifactKey.Combine(prefix, name)))
            .Select(name => $"{name} is missing")
            .FirstOrDefault();
    }

    /// <summary>The first file whose size or SHA-256 differs from the manifest's, or null.</summary>
    private static string? Mismatch(CheckpointManifest manifest, string prefix, IEnumerable<ArtifactInfo> artifacts)
    {
        var byKey = artifacts.ToDictionary(a => a.Key, StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            if (!byKey.TryGetValue(ArtifactKey.Combine(prefix, file.Name), out var info)) continue;
            if (info.Length != file.Bytes || !string.Equals(info.Sha256, file.Sha256, StringComparison.OrdinalIgnoreCase))
                return $"{file.Name} has {info.Length} bytes with SHA-256 {info.Sha256}, the manifest says {file.Bytes} bytes with {file.Sha256}";
        }
        return null;
    }
}
