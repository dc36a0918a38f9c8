using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Grains;

/// <summary>Runs that lose their place: preempted for more important work, or on a worker that is gone.</summary>
public sealed class SchedulerRecoveryTests(PlatformCluster platform) : IClassFixture<PlatformCluster>, IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await platform.ResetSchedulerAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task A_preempted_run_stops_waits_in_the_queue_and_resumes_when_room_comes_back()
    {
        var worker = NewId("w");
        await platform.Scheduler.RegisterWorkerAsync(Capacity(worker, cpu: 1));
        var low = await platform.SubmitAsync("low", Spec(priority: 0));
        await platform.Scheduler.ScheduleAsync();
        await platform.Run(low).MarkRunningAsync();

        var high = await platform.SubmitAsync("high", Spec(priority: 9));
        Assert.Equal([new Preempt(low, high, worker)], (await platform.Scheduler.ScheduleAsync()).Decisions);
        Assert.Equal(RunStatus.Resuming, (await platform.Run(low).GetAsync()).Status);

        // While the victim stops, another pass neither places the new run nor picks a second victim.
        Assert.Empty((await platform.Scheduler.ScheduleAsync()).Decisions);

        Assert.Equal(RunStatus.Queued, (await platform.Run(low).MarkStoppedAsync()).Status);
        Assert.Equal([new Place(high, worker, [], 1)], (await platform.Scheduler.ScheduleAsync()).Decisions);
        await platform.Run(high).MarkRunningAsync();
        await platform.Run(high).MarkSucceededAsync();

        Assert.Equal([new Place(low, worker, [], 1)], (await platform.Scheduler.ScheduleAsync()).Decisions);
        var resumed = await platform.Run(low).MarkRunningAsync();
        Assert.Equal(1, resumed.Attempt); // preemption costs no retry
        Assert.Equal(
            [RunStatus.Scheduled, RunStatus.Running, RunStatus.Resuming, RunStatus.Queued, RunStatus.Scheduled,
                RunStatus.Running],
            resumed.History.Select(t => t.To));
    }

    [Fact]
    public async Task Runs_on_a_worker_that_is_gone_go_back_to_the_queue_and_are_placed_on_another()
    {
        var first = NewId("wa");
        var second = NewId("wb");
        await platform.Scheduler.RegisterWorkerAsync(Capacity(first, cpu: 2));
        var started = await platform.SubmitAsync("started", Spec(maxRetries: 1));
        var notStarted = await platform.SubmitAsync("not-started", Spec(maxRetries: 1));
        await platform.Scheduler.ScheduleAsync();
        await platform.Run(started).MarkRunningAsync();
        await platform.Scheduler.RegisterWorkerAsync(Capacity(second, cpu: 2));

        await platform.Scheduler.WorkerGoneAsync(first);

        var requeuedStarted = await platform.Run(started).GetAsync();
        Assert.Equal(RunStatus.Queued, requeuedStarted.Status);
        Assert.Equal(1, requeuedStarted.Attempt); // losing its worker is not the process's failure: no retry is used
        Assert.DoesNotContain(requeuedStarted.History, t => t.To == RunStatus.Retrying);
        Assert.Equal((RunStatus.Running, RunStatus.Queued), (requeuedStarted.History[^1].From, requeuedStarted.History[^1].To));
        Assert.StartsWith($"worker {first} is gone", requeuedStarted.History[^1].Reason);
        var requeued = await platform.Run(notStarted).GetAsync();
        Assert.Equal(RunStatus.Queued, requeued.Status);
        Assert.Equal(1, requeued.Attempt); // it never started, so no retry is used
        var books = await platform.Scheduler.GetAsync();
        Assert.Equal([notStarted, started], books.Queue.Select(j => j.RunId).Order(StringComparer.Ordinal));
        Assert.Empty(books.Running);
        Assert.Equal([second], books.Workers.Select(w => w.WorkerId));

        var plan = await platform.Scheduler.ScheduleAsync();

        Assert.All(plan.Placements, p => Assert.Equal(second, p.WorkerId));
        Assert.Equal(2, plan.Placements.Count());
        Assert.Equal(second, (await platform.Run(started).GetAsync()).WorkerId);
    }

    [Fact]
    public async Task A_run_whose_retries_are_used_up_is_requeued_not_failed_when_its_worker_is_lost()
    {
        var worker = NewId("w");
        await platform.Scheduler.RegisterWorkerAsync(Capacity(worker, cpu: 1));
        var run = await platform.SubmitAsync("no-retries", Spec(maxRetries: 0));
        await platform.Scheduler.ScheduleAsync();
        await platform.Run(run).MarkRunningAsync();

        await platform.Scheduler.WorkerGoneAsync(worker);

        var after = await platform.Run(run).GetAsync();
        Assert.Equal((RunStatus.Queued, 1), (after.Status, after.Attempt));
        Assert.Contains(run, (await platform.Scheduler.GetAsync()).Queue.Select(j => j.RunId));
    }
}
