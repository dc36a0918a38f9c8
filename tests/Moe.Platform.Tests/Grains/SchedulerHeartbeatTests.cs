using Moe.Platform.Runs;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Grains;

/// <summary>The answer to a worker's heartbeat is exactly what it should run: placed, not stopping, not ended.</summary>
public sealed class SchedulerHeartbeatTests(PlatformCluster platform) : IClassFixture<PlatformCluster>, IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await platform.ResetSchedulerAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task A_heartbeat_registers_the_worker_and_lists_the_runs_placed_on_it_until_they_stop_or_end()
    {
        var worker = NewId("w");
        var first = await platform.Scheduler.HeartbeatAsync(Capacity(worker, gpus: 2, cpu: 2), []);
        Assert.Empty(first.Runs);
        Assert.Contains(worker, (await platform.Scheduler.GetAsync()).Workers.Select(w => w.WorkerId));

        var low = await platform.SubmitAsync("low", Spec(gpus: 2));
        await platform.Scheduler.ScheduleAsync();
        var placed = Assert.Single((await platform.Scheduler.HeartbeatAsync(Capacity(worker, gpus: 2, cpu: 2), [])).Runs);
        Assert.Equal((low, 2), (placed.RunId, placed.GpuIndexes.Length));
        await platform.Run(low).MarkRunningAsync();

        // A higher-priority run preempts it: the victim is no longer listed, so its worker stops it.
        var high = await platform.SubmitAsync("high", Spec(gpus: 2, priority: 9));
        await platform.Scheduler.ScheduleAsync();
        Assert.Equal(RunStatus.Resuming, (await platform.Run(low).GetAsync()).Status);
        Assert.Empty((await platform.Scheduler.HeartbeatAsync(Capacity(worker, gpus: 2, cpu: 2), [low])).Runs);
        await platform.Run(low).MarkStoppedAsync();
        await platform.Scheduler.ScheduleAsync();
        Assert.Equal([high], (await platform.Scheduler.HeartbeatAsync(Capacity(worker, gpus: 2, cpu: 2), [])).Runs.Select(r => r.RunId));

        // Cancelled: gone from the answer too.
        await platform.Run(high).RequestCancelAsync("not needed");
        var afterCancel = await platform.Scheduler.HeartbeatAsync(Capacity(worker, gpus: 2, cpu: 2), [high]);
        Assert.DoesNotContain(afterCancel.Runs, r => r.RunId == high);
    }

    [Fact]
    public async Task A_started_run_its_worker_no_longer_lists_is_lost_and_retried()
    {
        var worker = NewId("w");
        await platform.Scheduler.HeartbeatAsync(Capacity(worker, cpu: 1), []);
        var run = await platform.SubmitAsync("vanishing", Spec(maxRetries: 2));
        await platform.Scheduler.ScheduleAsync();
        await platform.Run(run).MarkRunningAsync();
        Assert.Single((await platform.Scheduler.HeartbeatAsync(Capacity(worker, cpu: 1), [run])).Runs);

        // The worker restarted: it runs nothing, although the run's process had started there.
        var answer = await platform.Scheduler.HeartbeatAsync(Capacity(worker, cpu: 1), []);

        Assert.Empty(answer.Runs);
        var lost = await platform.Run(run).GetAsync();
        Assert.Equal((RunStatus.Queued, 2), (lost.Status, lost.Attempt));
        Assert.Contains("no longer runs it", lost.History.Single(t => t.To == RunStatus.Retrying).Reason);
        Assert.Contains(run, (await platform.Scheduler.GetAsync()).Queue.Select(j => j.RunId));
    }

    [Fact]
    public async Task A_worker_back_in_a_new_incarnation_releases_what_it_ran_at_once_without_a_retry_and_keeps_what_had_not_started()
    {
        var worker = NewId("w");
        var before = Capacity(worker, cpu: 2) with { Incarnation = "first" };
        await platform.Scheduler.HeartbeatAsync(before, []);
        var started = await platform.SubmitAsync("started", Spec(maxRetries: 0)); // the crash must not fail it for want of retries
        var placedOnly = await platform.SubmitAsync("placed-only", Spec(maxRetries: 0));
        await platform.Scheduler.ScheduleAsync();
        await platform.Run(started).MarkRunningAsync();
        Assert.Equal(2, (await platform.Scheduler.HeartbeatAsync(before, [started])).Runs.Length);

        // The whole process was killed and started again: same worker id, new incarnation, running nothing.
        var answer = await platform.Scheduler.HeartbeatAsync(Capacity(worker, cpu: 2) with { Incarnation = "second" }, []);

        var requeued = await platform.Run(started).GetAsync();
        Assert.Equal((RunStatus.Queued, 1), (requeued.Status, requeued.Attempt));
        Assert.DoesNotContain(requeued.History, t => t.To is RunStatus.Retrying or RunStatus.Failed);
        Assert.Contains($"worker {worker} restarted", requeued.History[^1].Reason);
        // The run that was placed but never started is the new incarnation's to start.
        Assert.Equal([placedOnly], answer.Runs.Select(r => r.RunId));
        Assert.Equal(RunStatus.Scheduled, (await platform.Run(placedOnly).GetAsync()).Status);
        Assert.Equal("second", (await platform.Scheduler.GetAsync()).Workers.Single(w => w.WorkerId == worker).Incarnation);
    }
}
