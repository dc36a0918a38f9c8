using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Worker.Jobs;
using Moe.Platform.Workers;

namespace Moe.Platform.Grains.Workers;

/// <summary>
/// The worker side of a worker silo: it probes the devices, heartbeats to the scheduler, and keeps the set of trainer
/// processes equal to the scheduler's answer (starts what is placed here, stops what no longer is). On shutdown it
/// stops its trainers gracefully (each writes a checkpoint, which is uploaded) and hands their runs back to the queue.
/// </summary>
public sealed class WorkerAgent(
    IGrainFactory grains, IArtifactStore store, IOptions<WorkerOptions> options, TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    /// <summary>The stop reason of runs whose worker is shutting down (they requeue without using a retry).</summary>
    internal const string ShutdownReason = "worker shutting down";

    private readonly WorkerOptions _options = options.Value;
    private readonly ILogger _logger = loggers.CreateLogger<WorkerAgent>();
    private readonly ConcurrentDictionary<string, RunSupervisor> _runs = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RunWorkspace? _workspace;

    public string WorkerId { get; } = options.Value.ResolvedWorkerId();

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>Known once the devices are probed.</summary>
    public WorkerCapacity? Capacity { get; private set; }

    /// <summary>Completes after the first heartbeat the scheduler answered.</summary>
    public Task Ready => _ready.Task;

    public IReadOnlyList<string> RunningRunIds => [.. _runs.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The trainer process of a run supervised here, if it is running (tests kill it).</summary>
    public int? ProcessIdOf(string runId) => _runs.TryGetValue(runId, out var run) ? run.ProcessId : null;

    /// <summary>New at every start: the scheduler tells a restart of this worker from a heartbeat of the same process.</summary>
    public string Incarnation { get; } = Guid.NewGuid().ToString("N")[..12];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(_options.WorkDirectory);
        _workspace = new RunWorkspace(grains, store, TrainerExecutable.FromPath(_options.TrainerPath), _options.WorkDirectory, _logger);
        // Trainers an earlier incarnation left (they should have died with it) stop before this one starts any.
        int orphans = await OrphanedProcesses.StopOrphansUnderAsync(_workspace.RunsDirectory, OrphanedProcesses.DefaultGrace, _logger, stoppingToken);
        if (orphans > 0) _logger.LogWarning("Worker {WorkerId} stopped {Count} trainer(s) an earlier incarnation left running", WorkerId, orphans);
        Capacity = await DeviceProbe.ProbeAsync(WorkerId, _options, _logger, stoppingToken) with { Incarnation = Incarnation };
        await PlaceWorkerGrainAsync();

        using var timer = new PeriodicTimer(_options.HeartbeatInterval, time);
        do
        {
            try
            {
                var assignment = await grains.GetScheduler().HeartbeatAsync(Capacity, [.. RunningRunIds]);
                Reconcile(assignment);
                _ready.TrySetResult();
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                _logger.LogWarning("Heartbeat of worker {WorkerId} failed: {Problem}", WorkerId, e.Message);
            }
        } while (await WaitAsync(timer, stoppingToken));
    }

    /// <summary>
    /// Its grain lives on this silo from now on (a local first call places it here), so others find the worker here. An
    /// activation of an earlier incarnation on a silo that died may answer for a while; heartbeats do not wait for it.
    /// </summary>
    private async Task PlaceWorkerGrainAsync()
    {
        try
        {
            await grains.GetWorker(WorkerId).GetAsync();
        }
        catch (Exception e)
        {
            _logger.LogWarning("The grain of worker {WorkerId} is not on this silo yet: {Problem}", WorkerId, e.Message);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Starts the runs newly placed here and stops the ones no longer placed here.</summary>
    private void Reconcile(WorkerAssignment assignment)
    {
        var wanted = assignment.Runs.ToDictionary(r => r.RunId, StringComparer.Ordinal);
        foreach (var (runId, supervisor) in _runs)
            if (!wanted.ContainsKey(runId)) supervisor.RequestStop("no longer placed on this worker (cancelled or preempted)");
        foreach (var run in assignment.Runs)
        {
            if (_runs.ContainsKey(run.RunId)) continue;
            var supervisor = new RunSupervisor(run, grains, store, _workspace!, _options, WorkerId, _logger);
            _runs[run.RunId] = supervisor;
            _ = supervisor.Completion.ContinueWith(_ => _runs.TryRemove(new KeyValuePair<string, RunSupervisor>(run.RunId, supervisor)),
                TaskScheduler.Default);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken); // no more heartbeats
        var stopping = _runs.Values.ToList();
        foreach (var run in stopping) run.RequestStop(ShutdownReason);
        await Task.WhenAll(stopping.Select(r => r.Completion)).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            // Nothing more is placed here; a run placed meanwhile goes back to the queue.
            await grains.GetScheduler().WorkerGoneAsync(WorkerId);
        }
        catch (Exception e)
        {
            _logger.LogWarning("Worker {WorkerId} could not sign off with the scheduler: {Problem}", WorkerId, e.Message);
        }
    }

    public WorkerSnapshot Snapshot(string siloAddress) =>
        new(WorkerId, siloAddress, Capacity ?? new WorkerCapacity(WorkerId, [], 0), RunningRunIds, StartedAt);
}
