using Moe.Platform.Grains.Storage;
using Moe.Platform.Metrics;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Grains.Runs;

/// <summary>
/// One run: loads its <see cref="RunRecord"/>, applies the change, saves (its <c>runs</c> row and history follow in
/// the same transaction), then tells the scheduler and the experiment what they must know (after saving, so neither
/// acts on a change the run could still lose). Workers learn of cancels and preemptions from the scheduler's answer
/// to their next heartbeat, which no longer lists the run.
/// </summary>
public sealed class RunGrain(
    [PersistentState("run", PlatformStorage.Name)] IPersistentState<RunState> state, TimeProvider time,
    RunMetricsSink metrics)
    : Grain, IRunGrain
{
    private string RunId => this.GetPrimaryKeyString();

    public async Task<RunSnapshot> CreateAsync(RunSpec spec)
    {
        PlatformIds.Require(RunId, "run_id");
        if (state.RecordExists) throw PlatformException.Conflict("run_id", $"run '{RunId}' already exists");
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var config = await RunConfigAdmission.AdmitAsync(spec.ConfigJson,
            reference => GrainFactory.GetDataset(reference.DatasetId).ResolveForRunAsync(reference.Version));
        var run = RunRecord.Create(spec with { ConfigJson = config }, time);
        await GrainFactory.GetExperiment(spec.ExperimentId).AdmitRunAsync(RunId); // refuses an unknown or deleted experiment
        return await SaveAndNotifyAsync(run, SchedulerNotice.Enqueue, previousStatus: null);
    }

    public Task<RunSnapshot> GetAsync() => Task.FromResult(Existing().Snapshot(RunId));

    public Task<RunSnapshot> MarkScheduledAsync(string workerId) => ChangeAsync(run => run.Schedule(workerId));

    public Task<RunSnapshot> MarkRunningAsync() => ChangeAsync(run => run.Start());

    public Task<RunSnapshot> ReportProgressAsync(long step, double? valLoss) => ChangeAsync(run =>
    {
        run.Progress(step, valLoss);
        return SchedulerNotice.None;
    });

    public async Task<RunSnapshot> AppendMetricsAsync(IReadOnlyList<MetricPoint> points)
    {
        var run = Existing();
        if (points.Count == 0) return run.Snapshot(RunId);
        await metrics.AppendAsync(RunId, points); // idempotent: a resent step overwrites
        if (!run.RecordMetrics(points)) return run.Snapshot(RunId);
        return await SaveAndNotifyAsync(run, SchedulerNotice.None, run.Status);
    }

    public async Task AppendLogAsync(int attempt, IReadOnlyList<RunLogEntry> lines)
    {
        Existing();
        if (lines.Count > 0) await metrics.AppendLogAsync(RunId, attempt, lines);
    }

    public Task<RunSnapshot> MarkSucceededAsync() => ChangeAsync(run => run.Succeed());

    public Task<RunSnapshot> ReportProcessLostAsync(string reason) => ChangeAsync(run => run.ProcessLost(reason));

    public Task<RunSnapshot> ReportWorkerLostAsync(string reason) => ChangeAsync(run => run.WorkerLost(reason));

    public Task<RunSnapshot> MarkFailedAsync(string reason) => ChangeAsync(run => run.Fail(reason));

    public Task<RunSnapshot> RequestCancelAsync(string reason) => ChangeAsync(run => run.Cancel(reason));

    public async Task<RunSnapshot> ResumeAsync(string reason)
    {
        var run = Existing();
        var before = run.Status;
        var notice = run.Resume(reason); // refused unless Failed or Cancelled
        await GrainFactory.GetExperiment(run.Spec.ExperimentId).AdmitRunAsync(RunId); // refused for a deleted experiment
        return await SaveAndNotifyAsync(run, notice, before);
    }

    public Task<RunSnapshot> PreemptAsync(string reason) => ChangeAsync(run => run.Preempt(reason));

    public Task<RunSnapshot> MarkStoppedAsync() => ChangeAsync(run => run.Stopped());

    private async Task<RunSnapshot> ChangeAsync(Func<RunRecord, SchedulerNotice> change)
    {
        var run = Existing();
        var before = run.Status;
        var notice = change(run); // throws before anything is saved when the change is refused
        return await SaveAndNotifyAsync(run, notice, before);
    }

    private RunRecord Existing() =>
        state.RecordExists && state.State.Spec is not null
            ? RunRecord.Restore(state.State, time)
            : throw PlatformException.NotFound("run_id", $"run '{RunId}' not found: it was never created");

    private async Task<RunSnapshot> SaveAndNotifyAsync(RunRecord run, SchedulerNotice notice, RunStatus? previousStatus)
    {
        await state.WriteOrRevertAsync(run.ToState());

        var scheduler = GrainFactory.GetScheduler();
        switch (notice)
        {
            case SchedulerNotice.Enqueue:
                // The original submission time keeps a retried or preempted run ahead of newer work (FIFO by submission).
                await scheduler.EnqueueAsync(new QueuedJob(
                    RunId, run.Spec.ExperimentId, run.Spec.Priority, run.SubmittedAt, run.Spec.Resources,
                    run.Spec.RequiredTagsOrEmpty));
                break;
            case SchedulerNotice.Started:
                await scheduler.ReportStartedAsync(RunId);
                break;
            case SchedulerNotice.Release:
                await scheduler.ReportFinishedAsync(RunId);
                break;
        }

        if (run.Status.IsTerminal() && previousStatus is { } was && !was.IsTerminal())
            await GrainFactory.GetExperiment(run.Spec.ExperimentId).RunEndedAsync(RunId);
        return run.Snapshot(RunId);
    }
}
