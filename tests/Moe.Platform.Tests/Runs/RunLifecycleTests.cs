using Moe.Platform.Runs;

namespace Moe.Platform.Tests.Runs;

public class RunLifecycleTests
{
    // The shortest legal path from a new (Queued) run to each status.
    private static readonly Dictionary<RunStatus, RunStatus[]> PathTo = new()
    {
        [RunStatus.Queued] = [],
        [RunStatus.Scheduled] = [RunStatus.Scheduled],
        [RunStatus.Running] = [RunStatus.Scheduled, RunStatus.Running],
        [RunStatus.Succeeded] = [RunStatus.Scheduled, RunStatus.Running, RunStatus.Succeeded],
        [RunStatus.Failed] = [RunStatus.Scheduled, RunStatus.Running, RunStatus.Failed],
        [RunStatus.Cancelled] = [RunStatus.Cancelled],
        [RunStatus.Retrying] = [RunStatus.Scheduled, RunStatus.Running, RunStatus.Retrying],
        [RunStatus.Resuming] = [RunStatus.Scheduled, RunStatus.Running, RunStatus.Resuming],
    };

    private static RunLifecycle RunIn(RunStatus status, int maxRetries = 3, TimeProvider? clock = null)
    {
        var run = new RunLifecycle(maxRetries, clock ?? new ManualClock());
        foreach (var step in PathTo[status]) run.Apply(step, $"to {step}");
        Assert.Equal(status, run.Status);
        return run;
    }

    [Theory]
    [MemberData(nameof(RunStateMachineTests.LegalPairs), MemberType = typeof(RunStateMachineTests))]
    public void Legal_move_changes_status_and_appends_history(RunStatus from, RunStatus to)
    {
        var run = RunIn(from);
        var before = run.History.Count;
        var transition = run.Apply(to, "because");
        Assert.Equal(new RunTransition(from, to, ManualClock.Start, "because"), transition);
        Assert.Equal(to, run.Status);
        Assert.Equal(before + 1, run.History.Count);
        Assert.Equal(transition, run.History[^1]);
    }

    [Theory]
    [MemberData(nameof(RunStateMachineTests.IllegalPairs), MemberType = typeof(RunStateMachineTests))]
    public void Illegal_move_throws_and_changes_nothing(RunStatus from, RunStatus to)
    {
        var run = RunIn(from);
        var before = run.Snapshot();
        var error = Assert.Throws<IllegalTransitionException>(() => run.Apply(to, "because"));
        Assert.Equal((from, to), (error.From, error.To));
        Assert.Contains($"from {from} to {to}", error.Message);
        Assert.Equal(from, run.Status);
        Assert.Equal(before.Attempt, run.Attempt);
        Assert.Equal(before.History, run.History);
    }

    [Fact]
    public void History_keeps_order_and_the_clock_time_of_each_move()
    {
        var clock = new ManualClock();
        var run = new RunLifecycle(maxRetries: 1, clock);
        run.Apply(RunStatus.Scheduled, "placed on w1");
        clock.Advance(TimeSpan.FromSeconds(5));
        run.Apply(RunStatus.Running, "process started");
        clock.Advance(TimeSpan.FromMinutes(10));
        run.Apply(RunStatus.Resuming, "preempted by r9");
        clock.Advance(TimeSpan.FromSeconds(30));
        run.Apply(RunStatus.Queued, "stopped with checkpoint");

        var t0 = ManualClock.Start;
        RunTransition[] expected =
        [
            new(RunStatus.Queued, RunStatus.Scheduled, t0, "placed on w1"),
            new(RunStatus.Scheduled, RunStatus.Running, t0.AddSeconds(5), "process started"),
            new(RunStatus.Running, RunStatus.Resuming, t0.AddSeconds(605), "preempted by r9"),
            new(RunStatus.Resuming, RunStatus.Queued, t0.AddSeconds(635), "stopped with checkpoint"),
        ];
        Assert.Equal(expected, run.History);
        Assert.Equal(1, run.Attempt); // preemption is not a failure: no retry used
    }

    [Fact]
    public void Process_lost_retries_until_the_limit_then_fails()
    {
        var run = new RunLifecycle(maxRetries: 2, new ManualClock());
        Assert.Equal((1, 2), (run.Attempt, run.RetriesLeft));
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            run.Apply(RunStatus.Scheduled, "placed");
            run.Apply(RunStatus.Running, "started");
            var lost = run.ProcessLost("worker w1 lost");
            Assert.Equal(RunStatus.Retrying, lost.To);
            Assert.Equal(attempt + 1, run.Attempt);
            Assert.Equal(2 - attempt, run.RetriesLeft);
            run.Apply(RunStatus.Queued, "requeued");
        }

        run.Apply(RunStatus.Scheduled, "placed");
        run.Apply(RunStatus.Running, "started");
        var final = run.ProcessLost("exit code 137");
        Assert.Equal(new RunTransition(RunStatus.Running, RunStatus.Failed, ManualClock.Start,
            "exit code 137 (no retries left after 3 attempts)"), final);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(3, run.Attempt);
        Assert.True(run.IsTerminal);
        Assert.Equal(3, run.History.Count(t => t.From == RunStatus.Running));
    }

    [Fact]
    public void Applying_retrying_directly_without_retries_left_is_refused()
    {
        var run = RunIn(RunStatus.Running, maxRetries: 0);
        var error = Assert.Throws<IllegalTransitionException>(() => run.Apply(RunStatus.Retrying, "died"));
        Assert.Contains("all 0 retries are used", error.Message);
        Assert.Equal(RunStatus.Running, run.Status);
        Assert.Equal(1, run.Attempt);
    }

    [Fact]
    public void With_no_retries_a_lost_process_fails_at_once()
    {
        var run = RunIn(RunStatus.Running, maxRetries: 0);
        Assert.Equal(RunStatus.Failed, run.ProcessLost("worker lost").To);
    }

    [Theory]
    [InlineData(RunStatus.Queued)]
    [InlineData(RunStatus.Scheduled)]
    [InlineData(RunStatus.Succeeded)]
    [InlineData(RunStatus.Retrying)]
    public void Process_lost_outside_running_is_illegal(RunStatus status)
    {
        var run = RunIn(status);
        var error = Assert.Throws<IllegalTransitionException>(() => run.ProcessLost("lost"));
        Assert.Equal(RunStatus.Retrying, error.To);
        Assert.Equal(status, run.Status);
    }

    [Fact]
    public void Fail_is_not_retried_even_with_retries_left()
    {
        var run = RunIn(RunStatus.Running, maxRetries: 5);
        run.Fail("config rejected: moe.top_k: 9 exceeds moe.num_experts (8)");
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(5, run.RetriesLeft);
    }

    [Theory]
    [InlineData(RunStatus.Queued)]
    [InlineData(RunStatus.Scheduled)]
    [InlineData(RunStatus.Running)]
    [InlineData(RunStatus.Retrying)]
    [InlineData(RunStatus.Resuming)]
    public void Cancel_works_from_every_non_terminal_status(RunStatus status)
    {
        var run = RunIn(status);
        var transition = run.Cancel("cancelled by alice");
        Assert.Equal(new RunTransition(status, RunStatus.Cancelled, ManualClock.Start, "cancelled by alice"), transition);
        Assert.True(run.IsTerminal);
        Assert.Throws<IllegalTransitionException>(() => run.Apply(RunStatus.Running, "again"));
    }

    [Fact]
    public void Resuming_a_run_that_ran_out_of_retries_gives_a_new_attempt_and_a_fresh_allowance()
    {
        var clock = new ManualClock();
        var run = new RunLifecycle(maxRetries: 1, clock);
        foreach (var _ in Enumerable.Range(0, 2))
        {
            run.Apply(RunStatus.Scheduled, "placed");
            run.Apply(RunStatus.Running, "started");
            if (run.ProcessLost("exit code 137").To == RunStatus.Retrying) run.Apply(RunStatus.Queued, "requeued");
        }
        Assert.Equal((RunStatus.Failed, 2, 0), (run.Status, run.Attempt, run.RetriesLeft));

        var resumed = run.Resume("resumed by alice");
        Assert.Equal(new RunTransition(RunStatus.Failed, RunStatus.Queued, ManualClock.Start, "resumed by alice"), resumed);
        Assert.Equal((RunStatus.Queued, 3, 1), (run.Status, run.Attempt, run.RetriesLeft));
        Assert.False(run.IsTerminal);

        // The fresh allowance is used like the first one: one retry, then the run fails again.
        run.Apply(RunStatus.Scheduled, "placed");
        run.Apply(RunStatus.Running, "started");
        Assert.Equal(RunStatus.Retrying, run.ProcessLost("oom").To);
        Assert.Equal((4, 0), (run.Attempt, run.RetriesLeft));
        var restored = RunLifecycle.Restore(run.Snapshot(), clock);
        Assert.Equal((4, 0, RunStatus.Retrying), (restored.Attempt, restored.RetriesLeft, restored.Status));
    }

    [Theory]
    [InlineData(RunStatus.Cancelled)]
    [InlineData(RunStatus.Failed)]
    public void Cancelled_and_failed_runs_can_be_resumed(RunStatus status)
    {
        var run = RunIn(status, maxRetries: 2);
        run.Resume("resumed");
        Assert.Equal((RunStatus.Queued, 2, 2), (run.Status, run.Attempt, run.RetriesLeft));
    }

    [Theory]
    [InlineData(RunStatus.Succeeded)]
    [InlineData(RunStatus.Running)]
    [InlineData(RunStatus.Queued)]
    public void Only_failed_or_cancelled_runs_can_be_resumed(RunStatus status)
    {
        var run = RunIn(status);
        var error = Assert.Throws<IllegalTransitionException>(() => run.Resume("resume"));
        Assert.Equal(PlatformErrorKind.Conflict, error.Kind);
        Assert.Equal(status, run.Status);
    }

    [Theory]
    [InlineData(RunStatus.Succeeded)]
    [InlineData(RunStatus.Failed)]
    [InlineData(RunStatus.Cancelled)]
    public void Cancel_from_a_terminal_status_is_refused(RunStatus status)
    {
        var run = RunIn(status);
        Assert.Throws<IllegalTransitionException>(() => run.Cancel("too late"));
    }

    [Fact]
    public void Snapshot_and_restore_round_trip()
    {
        var clock = new ManualClock();
        var run = RunIn(RunStatus.Retrying, maxRetries: 2, clock);
        var restored = RunLifecycle.Restore(run.Snapshot(), clock);
        Assert.Equal((RunStatus.Retrying, 2, 2, 1), (restored.Status, restored.Attempt, restored.MaxRetries, restored.RetriesLeft));
        Assert.Equal(run.History, restored.History);
        restored.Apply(RunStatus.Queued, "requeued");
        Assert.Equal(3, run.History.Count); // the original is not shared with the copy
    }

    [Fact]
    public void Restore_refuses_inconsistent_state()
    {
        var clock = new ManualClock();
        var history = RunIn(RunStatus.Running).Snapshot().History;
        var wrongEnd = Assert.Throws<PlatformException>(() =>
            RunLifecycle.Restore(new RunLifecycleState(RunStatus.Queued, 1, 1, history), clock));
        Assert.Equal("history", wrongEnd.Field);
        var tooManyAttempts = Assert.Throws<PlatformException>(() =>
            RunLifecycle.Restore(new RunLifecycleState(RunStatus.Queued, 3, 1, []), clock));
        Assert.Equal("attempt", tooManyAttempts.Field);
    }

    [Fact]
    public void Negative_retry_limit_and_blank_reason_are_refused()
    {
        Assert.Equal("max_retries",
            Assert.Throws<PlatformException>(() => new RunLifecycle(-1, new ManualClock())).Field);
        var run = new RunLifecycle(0, new ManualClock());
        Assert.Equal("reason", Assert.Throws<PlatformException>(() => run.Apply(RunStatus.Scheduled, " ")).Field);
        Assert.Equal(RunStatus.Queued, run.Status);
    }

    [Fact]
    public void A_lost_worker_requeues_a_running_run_without_using_a_retry_even_when_none_is_left()
    {
        var run = RunIn(RunStatus.Running, maxRetries: 0);

        var lost = run.WorkerLost("worker w1 is gone");

        Assert.Equal((RunStatus.Running, RunStatus.Queued), (lost.From, lost.To));
        Assert.Equal((RunStatus.Queued, 1, 0), (run.Status, run.Attempt, run.RetriesLeft));
        var restored = RunLifecycle.Restore(run.Snapshot(), TimeProvider.System); // the history still adds up
        Assert.Equal((1, 0), (restored.Attempt, restored.RetriesLeft));
        Assert.Throws<IllegalTransitionException>(() => run.WorkerLost("again")); // only from Running
    }
}
