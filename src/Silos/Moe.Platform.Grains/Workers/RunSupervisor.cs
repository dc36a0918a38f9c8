using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using TrainingConfig = Moe.Model.Training.TrainingConfig;
using Moe.Platform.Checkpoints;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Worker.Checkpoints;
using Moe.Platform.Worker.Events;
using Moe.Platform.Worker.Jobs;
using Moe.Platform.Worker.Metrics;

namespace Moe.Platform.Grains.Workers;

/// <summary>
/// One placed run on this worker, from preparation to the report of how it ended: the trainer runs as a child
/// process; its metric points go to the run grain in batches; each checkpoint it writes is uploaded and recorded in
/// the run's checkpoint registry (which applies retention); its exit becomes the run's next status.
/// </summary>
internal sealed class RunSupervisor
{
    private readonly IGrainFactory _grains;
    private readonly IArtifactStore _store;
    private readonly RunWorkspace _workspace;
    private readonly WorkerOptions _options;
    private readonly string _workerId;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private TrainingJob? _job;
    private string? _stopReason;

    public RunSupervisor(AssignedRun assignment, IGrainFactory grains, IArtifactStore store, RunWorkspace workspace,
        WorkerOptions options, string workerId, ILogger logger)
    {
        Assignment = assignment;
        (_grains, _store, _workspace, _options, _workerId, _logger) = (grains, store, workspace, options, workerId, logger);
        Completion = Task.Run(SuperviseAsync);
    }

    public AssignedRun Assignment { get; }
    public string RunId => Assignment.RunId;

    /// <summary>Done once the process has ended and the run grain has heard how; never faults.</summary>
    public Task Completion { get; }

    /// <summary>The trainer's process id once it runs.</summary>
    public int? ProcessId => _job?.ProcessId;

    /// <summary>Stops the run here: before it started, it never starts; a running trainer checkpoints and exits.</summary>
    public void RequestStop(string reason)
    {
        if (Interlocked.CompareExchange(ref _stopReason, reason, null) is not null) return;
        _logger.LogInformation("Stopping run {RunId} on worker {WorkerId}: {Reason}", RunId, _workerId, reason);
        _stop.Cancel();
        if (_job is { } job) _ = job.StopAsync(_options.StopGrace);
    }

    private IRunGrain Run => _grains.GetRun(RunId);

    private async Task SuperviseAsync()
    {
        try
        {
            var command = await PrepareAsync();
            if (command is null) return;
            // Refused when the run was cancelled meanwhile: then nothing starts.
            var attempt = (await Run.MarkRunningAsync()).Attempt;
            await using var log = new LogShipper(lines => Run.AppendLogAsync(attempt, lines), maxLines: 500,
                maxDelay: _options.MetricFlushInterval, _logger);
            await using var job = TrainingJob.Start(command, new TrainingJobOptions { Logger = _logger, StderrLine = log.Add });
            _job = job;
            if (_stop.IsCancellationRequested) _ = job.StopAsync(_options.StopGrace); // stop raced the start
            await PumpAsync(job, KeepLastOf(command));
            await ReportAsync(await job.Completion);
        }
        catch (Exception e) when (e is PlatformException or IllegalTransitionException)
        {
            _logger.LogInformation("Run {RunId} moved on without this worker: {Problem}", RunId, e.Message);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Supervising run {RunId} failed", RunId);
            await TellRunAsync(run => run.ReportProcessLostAsync($"worker {_workerId} failed supervising it: {e.Message}"));
        }
    }

    private async Task<TrainerCommand?> PrepareAsync()
    {
        var snapshot = await Run.GetAsync();
        if (snapshot.Status != RunStatus.Scheduled || snapshot.WorkerId != _workerId || _stop.IsCancellationRequested) return null;
        try
        {
            return await _workspace.PrepareAsync(snapshot, Assignment, _stop.Token);
        }
        catch (RunPreparationException e)
        {
            await TellRunAsync(run => run.MarkFailedAsync($"worker {_workerId} could not prepare it: {e.Message}"));
            return null;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Feeds every event to the metric batcher and the checkpoint uploader until the process's output ends.</summary>
    private async Task PumpAsync(TrainingJob job, int keepLast)
    {
        var uploader = new CheckpointUploader(_store, RunId, _logger, mirrorRetention: false);
        await uploader.LoadUploadedStepsAsync();
        var batcher = new MetricBatcher((points, _) => Run.AppendMetricsAsync(points), maxPoints: 2000,
            maxDelay: _options.MetricFlushInterval, logger: _logger);
        try
        {
            await foreach (var trainerEvent in job.ReadEventsAsync())
            {
                await batcher.AddAsync(trainerEvent);
                if (trainerEvent is CheckpointWritten or TrainingStarted { ResumedFrom: not null })
                    await RecordCheckpointAsync(uploader, batcher, trainerEvent, keepLast);
            }
        }
        finally
        {
            try
            {
                await batcher.DisposeAsync(); // the last points, before the run hears the outcome
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "The last metric points of run {RunId} were not stored", RunId);
            }
        }
    }

    /// <summary>
    /// Uploads a checkpoint and records it, after storing every metric point up to it: a recorded checkpoint is where
    /// the run resumes anywhere, so the steps before it must never be missing from its curves.
    /// </summary>
    private async Task RecordCheckpointAsync(CheckpointUploader uploader, MetricBatcher batcher, TrainerEvent trainerEvent, int keepLast)
    {
        try
        {
            if (await uploader.HandleAsync(trainerEvent) is not { } upload) return;
            await batcher.FlushAsync();
            var manifestKey = ArtifactKey.Combine(upload.Prefix, Worker.Checkpoints.CheckpointManifest.FileName);
            var manifest = upload.Artifacts.Single(a => a.Key == manifestKey);
            double? valLoss = trainerEvent is CheckpointWritten c && double.IsFinite(c.ValLoss) ? c.ValLoss : null;
            await _grains.GetCheckpoints(RunId).RecordAsync(new CheckpointRecord(
                RunId, upload.Step, upload.Prefix, manifest.Sha256, upload.TotalBytes, valLoss, DateTimeOffset.UtcNow, []), keepLast);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The next checkpoint is uploaded anyway; training must not stop for a storage hiccup.
            _logger.LogWarning(e, "Uploading or recording a checkpoint of run {RunId} failed", RunId);
        }
    }

    /// <summary>The run's next status from how its process ended.</summary>
    private Task ReportAsync(JobOutcome outcome)
    {
        _logger.LogInformation("Run {RunId} on worker {WorkerId}: {Outcome}", RunId, _workerId, outcome);
        if (_stopReason is { } reason && outcome.Kind != JobOutcomeKind.Completed)
            return TellRunAsync(async run =>
            {
                // Stopped on purpose: a preempted run waits for resources again; a cancelled one has already ended.
                var status = (await run.GetAsync()).Status;
                return status == RunStatus.Resuming ? await run.MarkStoppedAsync()
                    : status == RunStatus.Running && reason == WorkerAgent.ShutdownReason ? await StopForShutdownAsync(run)
                    : await run.GetAsync();
            });
        return outcome.Kind switch
        {
            JobOutcomeKind.Completed => TellRunAsync(run => run.MarkSucceededAsync()),
            // Configuration or data errors repeat on every attempt: no retry.
            JobOutcomeKind.Failed => TellRunAsync(run => run.MarkFailedAsync($"trainer {outcome}")),
            _ => TellRunAsync(run => run.ReportProcessLostAsync($"trainer on worker {_workerId} {outcome}")),
        };
    }

    /// <summary>The worker is shutting down: the run goes back to the queue without using a retry.</summary>
    private async Task<RunSnapshot> StopForShutdownAsync(IRunGrain run)
    {
        await run.PreemptAsync($"worker {_workerId} is shutting down");
        return await run.MarkStoppedAsync();
    }

    private async Task TellRunAsync(Func<IRunGrain, Task<RunSnapshot>> call)
    {
        try
        {
            await call(Run);
        }
        catch (Exception e) when (e is PlatformException or IllegalTransitionException)
        {
            _logger.LogInformation("Run {RunId} did not take the report from worker {WorkerId}: {Problem}", RunId, _workerId, e.Message);
        }
    }

    private static int KeepLastOf(TrainerCommand command)
    {
        var config = JsonNode.Parse(File.ReadAllText(command.SpecPath));
        return config?["training"]?["keep_last"] is JsonValue v && v.TryGetValue<int>(out var keep) ? keep : new TrainingConfig().KeepLast;
    }
}
