using Moe.Platform.Runs;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Grains.Runs;

/// <summary>
/// One run: loads its <see cref="RunRecord"/>, applies the change, saves, then tells the scheduler what it must know
/// (after saving, so the scheduler never books a change the run could still lose).
/// </summary>
public sealed class RunGrain(
    [PersistentState("run", PlatformStorage.Name)] IPersistentState<RunState> state, TimeProvider time)
    : Grain, IRunGrain
{
    private string RunId => this.GetPrimaryKeyString();

    public async Task<RunSnapshot> CreateAsync(RunSpec spec)
    {
        if (state.RecordExists) throw new PlatformException("run_id", $"run '{RunId}' already exists");
        var run = RunRecord.Create(spec, time);
        return await SaveAndNotifyAsync(run, SchedulerNotice.Enqueue);
    }

    public Task<RunSnapshot> GetAsync() => Task.FromResult(Existing().Snapshot(RunId));

    public Task<RunSnapshot> MarkScheduledAsync(string workerId) => ChangeAsync(run => run.Schedule(workerId));

    public Task<RunSnapshot> MarkRunningAsync() => ChangeAsync(run => run.Start());

    public Task<RunSnapshot> ReportProgressAsync(long step, double? valLoss) => ChangeAsync(run =>
    {
        run.Progress(step, valLoss);
        return SchedulerNotice.None;
    });

    public Task<RunSnapshot> MarkSucceededAsync() => ChangeAsync(run => run.Succeed());

    public Task<RunSnapshot> ReportProcessLostAsync(string reason) => ChangeAsync(run => run.ProcessLost(reason));

    public Task<RunSnapshot> MarkFailedAsync(string reason) => ChangeAsync(run => run.Fail(reason));

    public Task<RunSnapshot> RequestCancelAsync(string reason) => ChangeAsync(run => run.Cancel(reason));

    public Task<RunSnapshot> PreemptAsync(string reason) => ChangeAsync(run => run.Preempt(reason));

    public Task<RunSnapshot> MarkStoppedAsync() => ChangeAsync(run => run.Stopped());

    private async Task<RunSnapshot> ChangeAsync(Func<RunRecord, SchedulerNotice> change)
    {
        var run = Existing();
        var notice = change(run); // throws before anything is saved when the change is refused
        return await SaveAndNotifyAsync(run, notice);
    }

    private RunRecord Existing() =>
        state.RecordExists && state.State.Spec is not null
            ? RunRecord.Restore(state.State, time)
            : throw new PlatformException("run_id", $"run '{RunId}' not found: it was never created");

    private async Task<RunSnapshot> SaveAndNotifyAsync(RunRecord run, SchedulerNotice notice)
    {
        state.State = run.ToState();
        await state.WriteStateAsync();

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
        return run.Snapshot(RunId);
    }
}
