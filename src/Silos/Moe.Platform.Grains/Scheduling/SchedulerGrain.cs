using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Grains.Scheduling;

/// <summary>
/// The singleton scheduler: books in a <see cref="SchedulerBook"/>, plans with <see cref="Scheduler.Plan"/>, and tells
/// the run grains. It books first and saves, then calls the runs; a run that refuses (it ended meanwhile) is released
/// from the books and logged, and the rest of the plan still applies. Its own timer (<see cref="SchedulerOptions"/>)
/// gives up workers whose heartbeats stopped and plans a pass whenever runs wait.
/// </summary>
public sealed class SchedulerGrain(
    [PersistentState("scheduler", PlatformStorage.Name)] IPersistentState<SchedulerState> state,
    TimeProvider time, IOptions<SchedulerOptions> options, ILogger<SchedulerGrain> logger)
    : Grain, ISchedulerGrain
{
    private readonly SchedulerOptions _options = options.Value;
    // When each worker was last heard from; not persisted: after a restart every known worker gets a full timeout.
    private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);
    private Task _writing = Task.CompletedTask;
    private Task? _nextWrite;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var worker in state.State.Workers.Keys) _lastSeen[worker] = now;
        if (_options.PassInterval > TimeSpan.Zero)
            this.RegisterGrainTimer(PassAsync, new GrainTimerCreationOptions(_options.PassInterval, _options.PassInterval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <summary>One timer pass: silent workers are gone (their runs requeue), then waiting runs are placed.</summary>
    private async Task PassAsync(CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() - _options.HeartbeatTimeout;
        foreach (var worker in state.State.Workers.Keys.ToList())
        {
            if (_lastSeen.TryGetValue(worker, out var seen) && seen >= deadline) continue;
            logger.LogWarning("Worker {WorkerId} missed its heartbeats for {Timeout}; its runs go back to the queue", worker, _options.HeartbeatTimeout);
            await WorkerGoneAsync(worker);
        }
        if (state.State.Queue.Count > 0) await ScheduleAsync();
    }
    private SchedulerBook Book => new(state.State);

    public Task EnqueueAsync(QueuedJob job)
    {
        Book.Enqueue(job);
        return SaveAsync();
    }

    public Task RegisterWorkerAsync(WorkerCapacity capacity)
    {
        Book.RegisterWorker(capacity);
        return SaveAsync();
    }

    public async Task<WorkerAssignment> HeartbeatAsync(WorkerCapacity capacity, ImmutableArray<string> runningRunIds)
    {
        ArgumentNullException.ThrowIfNull(capacity);
        var known = state.State.Workers.GetValueOrDefault(capacity.WorkerId ?? "");
        var book = Book;
        book.RegisterWorker(capacity);
        _lastSeen[capacity.WorkerId!] = time.GetUtcNow();
        // The same worker in a new process: what the old one ran died with it, found now rather than at the heartbeat timeout.
        bool restarted = known?.Incarnation is { } was && capacity.Incarnation is { } now && was != now;
        if (restarted) logger.LogWarning("Worker {WorkerId} restarted (incarnation {Old} -> {New})", capacity.WorkerId, known!.Incarnation, capacity.Incarnation);
        var vanished = book.TakeVanished(capacity.WorkerId!, runningRunIds.IsDefault ? new HashSet<string>() : [.. runningRunIds]);
        // Saved only when something changed: a heartbeat a second per worker must not be a database write each.
        if (known is null || vanished.Count > 0 || !SchedulerBook.SameCapacity(known, state.State.Workers[capacity.WorkerId!]))
            await SaveAsync();
        foreach (var job in vanished)
        {
            if (restarted)
            {
                // The worker's loss, not the trainer's failure: no retry is used. Runs placed but not started stay booked
                // on the worker, whose new incarnation starts them.
                await TellRunAsync(job.RunId, run => run.ReportWorkerLostAsync($"worker {capacity.WorkerId} restarted"));
                continue;
            }
            logger.LogWarning("Worker {WorkerId} no longer runs {RunId}, whose process it had started", capacity.WorkerId, job.RunId);
            await TellRunAsync(job.RunId, run => run.ReportProcessLostAsync($"worker {capacity.WorkerId} no longer runs it"));
        }
        return book.AssignmentOf(capacity.WorkerId!);
    }

    public async Task WorkerGoneAsync(string workerId)
    {
        _lastSeen.Remove(workerId);
        var lost = Book.RemoveWorker(workerId);
        await SaveAsync();
        foreach (var job in lost)
        {
            // The run goes back to the queue (it enqueues itself) without using a retry: losing a worker is not its failure.
            await TellRunAsync(job.RunId, run => run.ReportWorkerLostAsync($"worker {workerId} is gone"));
        }
    }

    public Task ReportStartedAsync(string runId)
    {
        Book.MarkStarted(runId, time.GetUtcNow());
        return SaveAsync();
    }

    public Task ReportFinishedAsync(string runId)
    {
        Book.Release(runId);
        return SaveAsync();
    }

    public async Task<SchedulingPlan> ScheduleAsync()
    {
        var book = Book;
        var plan = book.Plan();
        if (plan.Decisions.IsEmpty) return plan;
        book.Book(plan, time.GetUtcNow());
        await SaveAsync();

        // The runs are distinct grains: told at once, not one after another.
        await Task.WhenAll(plan.Decisions.Select(decision => TellRunAsync(decision.RunId, decision switch
        {
            Place place => run => run.MarkScheduledAsync(place.WorkerId),
            Preempt preempt => run => run.PreemptAsync($"preempted on {preempt.WorkerId} for run {preempt.ForRunId}"),
            // A run no worker could ever hold fails at once, the reason in its history, instead of waiting forever.
            Unschedulable unschedulable => run => run.MarkFailedAsync($"unschedulable: {unschedulable.Reason}"),
            _ => throw new InvalidOperationException($"unknown scheduling decision {decision}"),
        })));
        return plan;
    }

    public Task<SchedulerSnapshot> GetAsync() => Task.FromResult(Book.Snapshot());

    private async Task TellRunAsync(string runId, Func<IRunGrain, Task<RunSnapshot>> call)
    {
        try
        {
            await call(GrainFactory.GetRun(runId));
        }
        catch (PlatformException refused)
        {
            // The run moved on (cancelled, ended, or never created): it holds nothing the books should keep.
            logger.LogWarning("Run {RunId} refused the scheduler's change: {Problem}", runId, refused.Message);
            Book.Release(runId);
            await SaveAsync();
        }
    }

    /// <summary>
    /// Persists everything booked so far. Enqueue and the reports interleave, so writes are serialised (the storage's
    /// ETag check allows one at a time) and coalesced: while one write is in flight, every change that arrives joins
    /// the single next write, which carries them all. Under load (a thousand runs submitted, reported started and
    /// finished) this turns one whole-state write per change into one per write time.
    /// </summary>
    private Task SaveAsync()
    {
        if (_nextWrite is { } pending) return pending; // not started yet: it will carry this change too
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _nextWrite = done.Task;
        _ = WriteNextAsync(done);
        return done.Task;
    }

    private async Task WriteNextAsync(TaskCompletionSource done)
    {
        try
        {
            await _writing;
        }
        catch (Exception)
        {
            // Its callers have seen that failure; this write carries the same state again.
        }
        _nextWrite = null; // the state is captured now: later changes need another write
        try
        {
            _writing = state.WriteStateAsync();
            await _writing;
            done.SetResult();
        }
        catch (Exception e)
        {
            done.SetException(e);
        }
    }
}
