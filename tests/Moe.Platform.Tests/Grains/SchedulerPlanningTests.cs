using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Grains;

/// <summary>What one ScheduleAsync pass decides and applies: order, placement, and runs that can never fit.</summary>
public sealed class SchedulerPlanningTests(PlatformCluster platform) : IClassFixture<PlatformCluster>, IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await platform.ResetSchedulerAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task A_higher_priority_run_is_placed_before_an_earlier_lower_one()
    {
        var worker = NewId("w");
        await platform.Scheduler.RegisterWorkerAsync(Capacity(worker, cpu: 1));
        var low = await platform.SubmitAsync("low", Spec(priority: 0));
        var high = await platform.SubmitAsync("high", Spec(priority: 5));

        var plan = await platform.Scheduler.ScheduleAsync();

        Assert.Equal([new Place(high, worker, [], 1)], plan.Decisions);
        Assert.Equal(RunStatus.Scheduled, (await platform.Run(high).GetAsync()).Status);
        Assert.Equal(RunStatus.Queued, (await platform.Run(low).GetAsync()).Status);
        Assert.Equal([low], (await platform.Scheduler.GetAsync()).Queue.Select(j => j.RunId));
    }

    [Fact]
    public async Task Within_a_priority_experiments_take_turns()
    {
        await platform.Scheduler.RegisterWorkerAsync(Capacity(NewId("w"), cpu: 3));
        var a1 = await platform.SubmitAsync("a1", Spec(experiment: "exp-a"));
        var a2 = await platform.SubmitAsync("a2", Spec(experiment: "exp-a"));
        var a3 = await platform.SubmitAsync("a3", Spec(experiment: "exp-a"));
        var b1 = await platform.SubmitAsync("b1", Spec(experiment: "exp-b"));

        var plan = await platform.Scheduler.ScheduleAsync();

        // B's only run goes ahead of A's second and third although it was submitted last.
        Assert.Equal([a1, b1, a2], plan.Placements.Select(p => p.RunId));
        Assert.Equal(RunStatus.Queued, (await platform.Run(a3).GetAsync()).Status);
    }

    [Fact]
    public async Task Runs_go_to_the_worker_whose_capacity_fits_them_best()
    {
        var big = NewId("gpu-big");
        var small = NewId("gpu-small");
        var cpuOnly = NewId("cpu");
        await platform.Scheduler.RegisterWorkerAsync(Capacity(big, gpus: 2, gpuGiB: 80, cpu: 8));
        await platform.Scheduler.RegisterWorkerAsync(Capacity(small, gpus: 1, gpuGiB: 24, cpu: 8));
        await platform.Scheduler.RegisterWorkerAsync(Capacity(cpuOnly, cpu: 8));
        // The CPU run is considered first: it must leave the GPU workers to the GPU runs.
        var cpu = await platform.SubmitAsync("cpu", Spec(cpu: 4));
        var twoLarge = await platform.SubmitAsync("two-large", Spec(gpus: 2, gpuGiB: 40, cpu: 2));
        var oneSmall = await platform.SubmitAsync("one-small", Spec(gpus: 1, gpuGiB: 16, cpu: 2));

        var plan = await platform.Scheduler.ScheduleAsync();

        Assert.Equal(
            new HashSet<Place> { new(twoLarge, big, [0, 1], 2), new(oneSmall, small, [0], 2), new(cpu, cpuOnly, [], 4) },
            plan.Placements.ToHashSet());
        Assert.Equal(big, (await platform.Run(twoLarge).GetAsync()).WorkerId);
        Assert.Equal(
            [(cpu, cpuOnly), (oneSmall, small), (twoLarge, big)],
            (await platform.Scheduler.GetAsync()).Running.Select(r => (r.RunId, r.WorkerId)).OrderBy(p => p.RunId));
    }

    [Fact]
    public async Task A_run_that_can_never_fit_is_ended_with_the_reason()
    {
        await platform.Scheduler.RegisterWorkerAsync(Capacity(NewId("w"), gpus: 2));
        var huge = await platform.SubmitAsync("huge", Spec(gpus: 4, gpuGiB: 40));

        var plan = await platform.Scheduler.ScheduleAsync();

        var reason = "asks for 4 GPUs, the largest worker has 2";
        Assert.Equal([new Unschedulable(huge, reason)], plan.Decisions);
        var run = await platform.Run(huge).GetAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal($"unschedulable: {reason}", run.History[^1].Reason);
        Assert.Empty((await platform.Scheduler.GetAsync()).Queue);
    }
}
