using System.Text.Json.Nodes;
using Hangfire.Server;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Datasets;
using Moe.Platform.Grains.Workers;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Jobs;

namespace Moe.Web.Evaluations;

/// <summary>
/// What the evaluation and routing-analysis jobs share: the row's status around one attempt (Running, then Succeeded,
/// or the error with Queued while Hangfire will retry and Failed once it will not), a scratch folder, copies of a
/// checkpoint and of a dataset version from the artifact store, and <c>moe-trainer</c> as a child process that is
/// killed when the job is cancelled.
/// </summary>
public sealed class TrainerJobRunner(
    IDbContextFactory<PlatformDb> databases, IArtifactStore store, IGrainFactory grains, IOptions<EvaluationOptions> options,
    IConfiguration configuration, TimeProvider time, ILogger<TrainerJobRunner> logger)
{
    // Evaluation and RoutingAnalysis have these columns under the same names; EF reaches them by name, so one
    // bookkeeping serves both tables.
    const string Status = nameof(Evaluation.Status), Attempts = nameof(Evaluation.Attempts), Error = nameof(Evaluation.Error),
        StartedAt = nameof(Evaluation.StartedAt), FinishedAt = nameof(Evaluation.FinishedAt);

    /// <summary>Hangfire's job parameter counting the retries so far (AutomaticRetryAttribute's).</summary>
    const string RetryCountParameter = "RetryCount";

    const int ErrorLines = 20, ErrorChars = 4000;

    readonly EvaluationOptions _options = options.Value;

    /// <summary>The trainer, where a worker would find it (Worker:TrainerPath, by default moe-trainer.dll beside moe-web).</summary>
    readonly TrainerExecutable _trainer = TrainerExecutable.FromPath(
        (configuration.GetSection("Worker").Get<WorkerOptions>() ?? new WorkerOptions()).TrainerPath);

    /// <summary>
    /// One attempt at the job of row <paramref name="id"/>: <paramref name="work"/> gets a tracked row, its context and a
    /// fresh scratch folder, and fills in the results; the status columns are this method's. Throws what the work threw,
    /// so Hangfire retries; a row that is gone or already finished is left alone.
    /// </summary>
    public async Task RunAttemptAsync<TRow>(Guid id, PerformContext? context, Func<PlatformDb, TRow, string, CancellationToken, Task> work,
        CancellationToken cancellationToken) where TRow : class
    {
        string kind = typeof(TRow).Name;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var row = await db.Set<TRow>().FindAsync([id], cancellationToken);
        if (row is null)
        {
            logger.LogWarning("{Kind} {Id} no longer exists; nothing to do", kind, id);
            return;
        }
        var entry = db.Entry(row);
        if (entry.Property(Status).CurrentValue is JobStatus.Succeeded or JobStatus.Failed)
        {
            logger.LogInformation("{Kind} {Id} has already finished", kind, id);
            return;
        }
        int attempt = (int)entry.Property(Attempts).CurrentValue! + 1;
        entry.Property(Status).CurrentValue = JobStatus.Running;
        entry.Property(Attempts).CurrentValue = attempt;
        entry.Property(StartedAt).CurrentValue = Now();
        entry.Property(FinishedAt).CurrentValue = null;
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("{Kind} {Id}: attempt {Attempt} started", kind, id, attempt);

        var folder = Path.Combine(_options.ResolvedWorkDirectory(), $"{kind.ToLowerInvariant()}-{id:N}-{attempt}");
        try
        {
            Directory.CreateDirectory(folder);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.AttemptTimeout);
            try
            {
                await work(db, row, folder, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the attempt ran longer than {_options.AttemptTimeout} and was stopped");
            }
            entry.Property(Status).CurrentValue = JobStatus.Succeeded;
            entry.Property(Error).CurrentValue = null;
            entry.Property(FinishedAt).CurrentValue = Now();
            await db.SaveChangesAsync(CancellationToken.None);
            logger.LogInformation("{Kind} {Id} succeeded (attempt {Attempt})", kind, id, attempt);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The server is stopping (or the job was deleted): Hangfire runs it again later, so it is queued, not failed.
            entry.Property(Status).CurrentValue = JobStatus.Queued;
            entry.Property(Error).CurrentValue = "interrupted: the job server stopped during the attempt";
            await db.SaveChangesAsync(CancellationToken.None);
            logger.LogWarning("{Kind} {Id}: attempt {Attempt} interrupted", kind, id, attempt);
            throw;
        }
        catch (Exception e)
        {
            int retries = context?.GetJobParameter<int>(RetryCountParameter, allowStale: true) ?? 0;
            bool final = retries >= _options.RetryDelaySeconds().Length;
            entry.Property(Status).CurrentValue = final ? JobStatus.Failed : JobStatus.Queued;
            entry.Property(Error).CurrentValue = e.Message;
            entry.Property(FinishedAt).CurrentValue = final ? Now() : null;
            await db.SaveChangesAsync(CancellationToken.None);
            logger.LogWarning("{Kind} {Id}: attempt {Attempt} failed{Then}: {Error}", kind, id, attempt,
                final ? ", no retries left" : ", will retry", e.Message);
            throw;
        }
        finally
        {
            TryDelete(folder);
        }
    }

    /// <summary>Copies every file of the checkpoint into <c>folder/checkpoint</c>, each checked against its stored hash.</summary>
    public async Task<string> DownloadCheckpointAsync(Checkpoint checkpoint, string folder, CancellationToken cancellationToken)
    {
        var prefix = checkpoint.ArtifactPrefix.TrimEnd('/') + "/";
        var target = Path.Combine(folder, "checkpoint");
        int files = 0;
        await foreach (var file in store.ListAsync(prefix, cancellationToken))
        {
            await store.DownloadToFileAsync(file.Key, Path.Combine(target, file.Key[prefix.Length..]), cancellationToken);
            files++;
        }
        if (files == 0)
            throw new InvalidOperationException($"the files of checkpoint step {checkpoint.Step} of run '{checkpoint.RunId}' are not in the artifact store ({prefix})");
        logger.LogInformation("Downloaded checkpoint step {Step} of run {RunId} ({Files} files)", checkpoint.Step, checkpoint.RunId, files);
        return target;
    }

    /// <summary>The dataset version (a Ready one: the newest when <paramref name="version"/> is null), as the dataset grain knows it.</summary>
    public Task<DatasetVersionSnapshot> DatasetVersionAsync(string datasetId, int? version) => grains.GetDataset(datasetId).ResolveForRunAsync(version);

    /// <summary>Copies the prepared version (manifest, shards, tokenizer) into <c>folder/data</c>, verified against its content hash.</summary>
    public async Task<string> DownloadPreparedAsync(DatasetVersionSnapshot version, string folder, CancellationToken cancellationToken)
    {
        var target = Path.Combine(folder, "data");
        await DatasetLayout.DownloadVerifiedAsync(store, version.ArtifactPrefix, version.ContentHash ?? "", target, cancellationToken);
        logger.LogInformation("Downloaded dataset {Dataset} v{Version}", version.DatasetId, version.Version);
        return target;
    }

    /// <summary>Copies the version's source documents into <c>folder/input</c>, in registration order; returns their paths.</summary>
    public async Task<IReadOnlyList<string>> DownloadSourcesAsync(DatasetVersionSnapshot version, string folder, CancellationToken cancellationToken)
    {
        var paths = new List<string>();
        foreach (var (source, i) in version.Sources.Select((s, i) => (s, i)))
        {
            // Numbered, so two uploads with one name stay apart; the extension tells the trainer the format.
            var path = Path.Combine(folder, "input", $"{i:D3}-{Path.GetFileName(source.ArtifactKey)}");
            await store.DownloadToFileAsync(source.ArtifactKey, path, cancellationToken);
            paths.Add(path);
        }
        if (paths.Count == 0) throw new InvalidOperationException($"dataset '{version.DatasetId}' version {version.Version} has no source documents");
        logger.LogInformation("Downloaded {Count} source file(s) of dataset {Dataset} v{Version}", paths.Count, version.DatasetId, version.Version);
        return paths;
    }

    /// <summary>
    /// Runs <c>moe-trainer</c> with <paramref name="arguments"/> (which ask for <c>--json</c>) in the folder and returns
    /// the JSON object it printed last. A non-zero exit throws with the tail of the trainer's stderr.
    /// </summary>
    public async Task<JsonObject> RunTrainerAsync(IReadOnlyList<string> arguments, string folder, CancellationToken cancellationToken)
    {
        logger.LogInformation("Running {Trainer} {Arguments}", _trainer, string.Join(' ', arguments));
        var started = time.GetTimestamp();
        // The job leases its scratch folder: should it outlive this app, the next start finds and stops it (OrphanedJobSweep).
        var result = await TrainerCli.RunAsync(_trainer, arguments, folder, cancellationToken, leaseFolder: folder);
        logger.LogInformation("moe-trainer {Command} exited with {ExitCode} after {Elapsed}", arguments[0], result.ExitCode, time.GetElapsedTime(started));
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"moe-trainer {arguments[0]} exited with code {result.ExitCode}: {Tail(result.Stderr)}");
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidOperationException($"moe-trainer {arguments[0]} printed no JSON: {Tail(result.Stdout)}");
        return JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException($"moe-trainer {arguments[0]} printed no JSON object");
    }

    /// <summary>The last lines of a process's output, short enough for an error column.</summary>
    static string Tail(string text)
    {
        var tail = string.Join('\n', text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).TakeLast(ErrorLines));
        return tail.Length <= ErrorChars ? tail : "..." + tail[^ErrorChars..];
    }

    DateTime Now() => time.GetUtcNow().UtcDateTime;

    void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not delete the scratch folder {Folder}: {Problem}", folder, e.Message);
        }
    }
}
