using Moe.Platform.Runs;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Grains;

/// <summary>The run state machine driven through the grain, as the scheduler and a worker would drive it.</summary>
public sealed class RunGrainTests(PlatformCluster platform) : IClassFixture<PlatformCluster>
{
    [Fact]
    public async Task A_run_goes_from_queued_to_succeeded_and_keeps_its_history_and_progress()
    {
        var id = NewId("ok");
        var run = platform.Run(id);

        var created = await run.CreateAsync(Spec(maxRetries: 1));
        Assert.Equal(RunStatus.Queued, created.Status);
        Assert.Equal(1, created.Attempt);
        Assert.Empty(created.History);

        Assert.Equal("w1", (await run.MarkScheduledAsync("w1")).WorkerId);
        await run.MarkRunningAsync();
        await run.ReportProgressAsync(5, 2.5);
        await run.ReportProgressAsync(10, 3.0); // a worse loss does not replace the best
        var done = await run.MarkSucceededAsync();

        Assert.Equal(RunStatus.Succeeded, done.Status);
        Assert.Equal(10, done.LastStep);
        Assert.Equal(2.5, done.BestValLoss);
        Assert.Equal(
            [RunStatus.Scheduled, RunStatus.Running, RunStatus.Succeeded], done.History.Select(t => t.To).ToArray());
        Assert.Equal("placed on worker w1", done.History[0].Reason);
        RunAssert.Same(done, await run.GetAsync());
    }

    [Fact]
    public async Task An_illegal_transition_reaches_the_caller_as_the_typed_exception_and_changes_nothing()
    {
        var run = platform.Run(NewId("illegal"));
        await run.CreateAsync(Spec());

        var error = await Assert.ThrowsAsync<IllegalTransitionException>(() => run.MarkRunningAsync());
        Assert.Equal(RunStatus.Queued, error.From);
        Assert.Equal(RunStatus.Running, error.To);
        Assert.Equal("status", error.Field);
        Assert.Equal("status: a run cannot go from Queued to Running", error.Message);

        var after = await run.GetAsync();
        Assert.Equal(RunStatus.Queued, after.Status);
        Assert.Empty(after.History);
    }

    [Fact]
    public async Task A_lost_process_is_retried_until_the_retries_run_out_then_the_run_fails()
    {
        var run = platform.Run(NewId("lost"));
        await run.CreateAsync(Spec(maxRetries: 1));
        await run.MarkScheduledAsync("w1");
        await run.MarkRunningAsync();

        var retried = await run.ReportProcessLostAsync("exit code 137");
        Assert.Equal(RunStatus.Queued, retried.Status);
        Assert.Equal(2, retried.Attempt);
        Assert.Null(retried.WorkerId);
        Assert.Equal([RunStatus.Retrying, RunStatus.Queued], retried.History[^2..].Select(t => t.To).ToArray());

        await run.MarkScheduledAsync("w2");
        await run.MarkRunningAsync();
        var failed = await run.ReportProcessLostAsync("exit code 137");
        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.Equal("exit code 137 (no retries left after 2 attempts)", failed.History[^1].Reason);

        // The detail of a refused retry also survives the trip.
        var error = await Assert.ThrowsAsync<IllegalTransitionException>(() => run.ReportProcessLostAsync("again"));
        Assert.Equal(RunStatus.Failed, error.From);
    }

    [Fact]
    public async Task Preempting_a_running_run_moves_it_to_resuming_and_stopping_queues_it_again()
    {
        var run = platform.Run(NewId("preempt"));
        await run.CreateAsync(Spec());
        await run.MarkScheduledAsync("w1");
        await run.MarkRunningAsync();

        Assert.Equal(RunStatus.Resuming, (await run.PreemptAsync("make room")).Status);
        var queued = await run.MarkStoppedAsync();
        Assert.Equal(RunStatus.Queued, queued.Status);
        Assert.Equal(1, queued.Attempt); // preemption uses no retry
    }

    [Fact]
    public async Task Cancel_ends_the_run_and_a_failed_run_takes_no_more_changes()
    {
        var cancelled = platform.Run(NewId("cancel"));
        await cancelled.CreateAsync(Spec());
        Assert.Equal(RunStatus.Cancelled, (await cancelled.RequestCancelAsync("not needed")).Status);

        var failed = platform.Run(NewId("fail"));
        await failed.CreateAsync(Spec());
        await failed.MarkScheduledAsync("w1");
        await failed.MarkRunningAsync();
        Assert.Equal("config rejected", (await failed.MarkFailedAsync("config rejected")).History[^1].Reason);
        await Assert.ThrowsAsync<IllegalTransitionException>(() => failed.RequestCancelAsync("too late"));
    }

    [Fact]
    public async Task A_cancelled_run_resumed_is_queued_again_active_in_its_experiment_and_a_succeeded_one_is_not()
    {
        var id = NewId("resume");
        var run = platform.Run(id);
        var created = await run.CreateAsync(Spec());
        await run.MarkScheduledAsync("w1");
        await run.MarkRunningAsync();
        await run.RequestCancelAsync("stop for now");
        Assert.DoesNotContain(id, (await platform.Client.GetExperiment(created.Spec.ExperimentId).GetAsync()).ActiveRunIds);

        var resumed = await run.ResumeAsync("resumed by alice");
        Assert.Equal((RunStatus.Queued, 2, (string?)null), (resumed.Status, resumed.Attempt, resumed.WorkerId));
        Assert.Equal((RunStatus.Cancelled, RunStatus.Queued, "resumed by alice"),
            (resumed.History[^1].From, resumed.History[^1].To, resumed.History[^1].Reason));
        Assert.Contains(id, (await platform.Scheduler.GetAsync()).Queue.Select(q => q.RunId));
        Assert.Contains(id, (await platform.Client.GetExperiment(created.Spec.ExperimentId).GetAsync()).ActiveRunIds);

        await run.MarkScheduledAsync("w1");
        await run.MarkRunningAsync();
        await run.MarkSucceededAsync();
        var error = await Assert.ThrowsAsync<IllegalTransitionException>(() => run.ResumeAsync("again"));
        Assert.Equal(PlatformErrorKind.Conflict, error.Kind);
    }

    [Fact]
    public async Task Creating_twice_is_refused()
    {
        var run = platform.Run(NewId("twice"));
        await run.CreateAsync(Spec());

        var error = await Assert.ThrowsAsync<PlatformException>(() => run.CreateAsync(Spec()));
        Assert.Equal("run_id", error.Field);
        Assert.Contains("already exists", error.Problem);
        Assert.Equal(PlatformErrorKind.Conflict, error.Kind); // the API answers 409
    }

    [Fact]
    public async Task A_malformed_spec_is_refused_with_the_field_at_fault()
    {
        var error = await Assert.ThrowsAsync<PlatformException>(
            () => platform.Run(NewId("bad")).CreateAsync(Spec(cpu: 0)));
        Assert.Equal("resources", error.Field);
    }

    [Fact]
    public async Task Calls_on_a_run_that_was_never_created_say_it_was_not_found()
    {
        var run = platform.Run(NewId("ghost"));

        var read = await Assert.ThrowsAsync<PlatformException>(() => run.GetAsync());
        Assert.Equal("run_id", read.Field);
        Assert.Contains("not found", read.Problem);
        await Assert.ThrowsAsync<PlatformException>(() => run.MarkScheduledAsync("w1"));
    }
}
