using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Moe.Model.Data;
using Moe.Platform.Checkpoints;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Datasets;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Grains.Workers;

/// <summary>
/// Turns a placed run into a trainer command on this worker: its dataset references become verified local copies
/// (cached per version; a copy whose content hash differs from the registered one is refused), its newest recorded
/// checkpoint is restored into the run folder when the folder lacks it (the run resumes here after another worker
/// lost it), and the spec file is written. A process still holding the run folder's lease (an orphan of an earlier
/// incarnation of this worker) is stopped before anything in the folder changes. Layout under the work directory: <c>datasets/&lt;id&gt;/v&lt;n&gt;/</c>,
/// <c>runs/&lt;run&gt;/</c> (the trainer's run folder), <c>specs/&lt;run&gt;.json</c>.
/// </summary>
public sealed class RunWorkspace(IGrainFactory grains, IArtifactStore store, TrainerExecutable trainer, string workDirectory, ILogger logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _datasetLocks = new(StringComparer.Ordinal);

    /// <summary>Where the run folders are, one per run id.</summary>
    public string RunsDirectory => Path.Combine(workDirectory, "runs");

    public string RunDirectory(string runId) => Path.Combine(RunsDirectory, runId);

    /// <summary>
    /// Prepares everything and returns the command. Throws <see cref="RunPreparationException"/> when the run can
    /// never start (a dataset not ready or not matching its hash): retrying elsewhere would not help.
    /// </summary>
    public async Task<TrainerCommand> PrepareAsync(RunSnapshot run, AssignedRun assignment, CancellationToken cancellationToken)
    {
        var config = JsonNode.Parse(run.Spec.ConfigJson)!.AsObject();
        if (config["data"]?["datasets"] is JsonArray datasets)
            foreach (var entry in datasets)
                if (entry?["path"] is JsonValue v && v.TryGetValue<string>(out var path) && DatasetReference.IsReference(path))
                    entry["path"] = await LocalDatasetAsync(path, cancellationToken);
        if (config["tokenizer"] is JsonValue t && t.TryGetValue<string>(out var tokenizer) && DatasetReference.IsReference(tokenizer))
            config["tokenizer"] = Path.Combine(await LocalDatasetAsync(tokenizer, cancellationToken), DatasetLayout.TokenizerFileName);

        var runDirectory = RunDirectory(run.RunId);
        // A trainer an earlier incarnation of this worker started for the run may still write the folder: stop it first.
        await OrphanedProcesses.StopLeaseHolderAsync(runDirectory, OrphanedProcesses.DefaultGrace, logger, cancellationToken);
        await RestoreLatestCheckpointAsync(run.RunId, runDirectory, cancellationToken);
        var specPath = Path.Combine(workDirectory, "specs", run.RunId + ".json");
        await RunSpecFile.WriteAsync(specPath, config, cancellationToken);

        bool gpus = !assignment.GpuIndexes.IsDefaultOrEmpty;
        return new TrainerCommand(trainer, specPath, runDirectory, Device: gpus ? "cuda" : "cpu")
        {
            // The process sees only its own GPUs, numbered from 0.
            Environment = gpus ? new Dictionary<string, string> { ["CUDA_VISIBLE_DEVICES"] = string.Join(',', assignment.GpuIndexes) } : null,
        };
    }

    /// <summary>The local folder of a referenced dataset version, downloaded and verified once per worker.</summary>
    private async Task<string> LocalDatasetAsync(string referenceText, CancellationToken cancellationToken)
    {
        var reference = DatasetReference.Parse(referenceText, "data.datasets");
        DatasetVersionSnapshot version;
        try
        {
            version = await grains.GetDataset(reference.DatasetId).ResolveForRunAsync(reference.Version);
        }
        catch (PlatformException e)
        {
            throw new RunPreparationException($"{referenceText}: {e.Problem}");
        }
        var folder = Path.Combine(workDirectory, "datasets", version.DatasetId, $"v{version.Version}");
        var gate = _datasetLocks.GetOrAdd(folder, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (Directory.Exists(folder) && TryVerify(folder, version) is null) return folder;
            var temporary = $"{folder}.{Guid.NewGuid():N}.tmp";
            try
            {
                try
                {
                    // Shards and content hash are checked by the download itself; the tokenizer is what it leaves.
                    await DatasetLayout.DownloadVerifiedAsync(store, version.ArtifactPrefix, version.ContentHash ?? "", temporary, cancellationToken);
                    if (TokenizerProblem(temporary, version) is { } problem) throw new InvalidDataException(problem);
                }
                catch (InvalidDataException e)
                {
                    throw new RunPreparationException($"dataset '{version.DatasetId}' version {version.Version} does not match its registered hash: {e.Message}");
                }
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
                Directory.Move(temporary, folder);
                logger.LogInformation("Downloaded dataset {Dataset} v{Version} to {Folder}", version.DatasetId, version.Version, folder);
                return folder;
            }
            finally
            {
                if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Null when the folder holds exactly the registered version (shards, content hash, tokenizer); else why not.</summary>
    private static string? TryVerify(string folder, DatasetVersionSnapshot version)
    {
        try
        {
            var manifest = TokenDataset.Verify(folder);
            if (manifest.ContentHash != version.ContentHash)
                return $"content hash {manifest.ContentHash}, registered {version.ContentHash}";
            return TokenizerProblem(folder, version);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException)
        {
            return e.Message;
        }
    }

    /// <summary>Null when the folder's tokenizer.json is the one the version was prepared with; else why not.</summary>
    private static string? TokenizerProblem(string folder, DatasetVersionSnapshot version)
    {
        var tokenizer = Path.Combine(folder, DatasetLayout.TokenizerFileName);
        if (!File.Exists(tokenizer)) return "tokenizer.json is missing";
        var tokenizerHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(tokenizer)));
        if (version.TokenizerSha256 is { } expected && !string.Equals(tokenizerHash, expected, StringComparison.OrdinalIgnoreCase))
            return $"tokenizer SHA-256 {tokenizerHash}, registered {expected}";
        return null;
    }

    /// <summary>
    /// Makes the run resume from its newest recorded checkpoint, the one point whose earlier metrics are known to be
    /// stored: local checkpoints newer than it (left by an earlier attempt on this worker) are removed, and it is
    /// downloaded when the folder lacks it.
    /// </summary>
    private async Task RestoreLatestCheckpointAsync(string runId, string runDirectory, CancellationToken cancellationToken)
    {
        var latest = await grains.GetCheckpoints(runId).LatestAsync();
        var checkpoints = Path.Combine(runDirectory, "checkpoints");
        string? latestName = latest is null ? null : Path.GetFileName(latest.ArtifactPrefix.TrimEnd('/'));
        if (Directory.Exists(checkpoints))
            foreach (var folder in Directory.GetDirectories(checkpoints, "step-*"))
                if (latestName is null || string.CompareOrdinal(Path.GetFileName(folder), latestName) > 0)
                {
                    logger.LogInformation("Removing {Folder}: newer than run {RunId}'s last recorded checkpoint", folder, runId);
                    Directory.Delete(folder, recursive: true);
                }
        if (latest is null) return;
        var target = Path.Combine(checkpoints, latestName!);
        if (File.Exists(Path.Combine(target, "manifest.json"))) return;
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        var temporary = $"{target}.{Guid.NewGuid():N}.tmp";
        try
        {
            await DownloadPrefixAsync(latest.ArtifactPrefix, temporary, cancellationToken);
            Directory.Move(temporary, target);
            logger.LogInformation("Restored checkpoint step {Step} of run {RunId} from the store", latest.Step, runId);
        }
        finally
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }
    }

    /// <summary>Downloads every artifact under the prefix into the folder, each verified against its recorded SHA-256.</summary>
    private async Task DownloadPrefixAsync(string prefix, string folder, CancellationToken cancellationToken)
    {
        var root = prefix.EndsWith('/') ? prefix : prefix + "/";
        int files = 0;
        await foreach (var info in store.ListAsync(root, cancellationToken))
        {
            await store.DownloadToFileAsync(info.Key, Path.Combine(folder, info.Key[root.Length..]), cancellationToken);
            files++;
        }
        if (files == 0) throw new RunPreparationException($"nothing is stored under {root}");
    }
}

/// <summary>The worker cannot prepare the run, and no other worker could either (the run fails with this message).</summary>
public sealed class RunPreparationException(string message) : Exception(message);
