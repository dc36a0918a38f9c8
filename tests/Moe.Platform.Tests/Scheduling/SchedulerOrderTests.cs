using Moe.Platform.Scheduling;
using static Moe.Platform.Tests.Scheduling.Cluster;

namespace Moe.Platform.Tests.Scheduling;

/// <summary>Which queued job goes first: priority, then fair share across experiments, then FIFO.</summary>
public class SchedulerOrderTests
{
    [Fact]
    public void Higher_priority_goes_first_regardless_of_enqueue_time()
    {
        var plan = Plan(
            [Job("low", priority: 0, minute: 0), Job("high", priority: 10, minute: 5), Job("mid", priority: 5, minute: 3)],
            [Capacity("w1", cpu: 2)]);
        Assert.Equal(Decisions(Place("high", "w1", [], 1), Place("mid", "w1", [], 1)), plan.Decisions);
    }

    [Fact]
    public void Two_experiments_interleave_instead_of_first_come_first_served()
    {
        // A enqueued all four before B's two; plain FIFO would place a1..a4 and starve B.
        var plan = Plan(
            [
                Job("a1", "A", minute: 0), Job("a2", "A", minute: 1), Job("a3", "A", minute: 2),
                Job("a4", "A", minute: 3), Job("b1", "B", minute: 4), Job("b2", "B", minute: 5),
            ],
            [Capacity("w1", cpu: 4)]);
        Assert.Equal(["a1", "b1", "a2", "b2"], plan.Placements.Select(p => p.RunId));
    }

    [Fact]
    public void Experiment_already_holding_more_runs_waits_behind_the_other()
    {
        // A holds two runs on the full w0, so B's later job goes before A's earlier one.
        var plan = Plan(
            [Job("a3", "A", minute: 0), Job("b1", "B", minute: 9)],
            [Capacity("w0", cpu: 2), Capacity("w1", cpu: 1)],
            [Running("a1", "w0", experiment: "A"), Running("a2", "w0", experiment: "A")]);
        Assert.Equal(Decisions(Place("b1", "w1", [], 1)), plan.Decisions);
    }

    [Fact]
    public void Fair_share_applies_only_within_one_priority()
    {
        // B has nothing running, but A's job has the higher priority.
        var plan = Plan(
            [Job("a3", "A", priority: 1, minute: 5), Job("b1", "B", priority: 0, minute: 0)],
            [Capacity("w0", cpu: 2), Capacity("w1", cpu: 1)],
            [Running("a1", "w0", experiment: "A"), Running("a2", "w0", experiment: "A")]);
        Assert.Equal(Decisions(Place("a3", "w1", [], 1)), plan.Decisions);
    }

    [Fact]
    public void Same_experiment_and_priority_is_first_in_first_out_whatever_the_input_order()
    {
        var plan = Plan(
            [Job("third", minute: 7), Job("first", minute: 1), Job("second", minute: 4)],
            [Capacity("w1", cpu: 2)]);
        Assert.Equal(["first", "second"], plan.Placements.Select(p => p.RunId));
    }

    [Fact]
    public void Equal_enqueue_times_break_ties_by_run_id()
    {
        var plan = Plan([Job("r-b"), Job("r-c"), Job("r-a")], [Capacity("w1", cpu: 2)]);
        Assert.Equal(["r-a", "r-b"], plan.Placements.Select(p => p.RunId));
    }

    [Fact]
    public void A_job_that_does_not_fit_now_does_not_block_smaller_ones()
    {
        // "big" fits the worker when empty, so it waits (no decision) while "small" uses the free GPU.
        var plan = Plan(
            [Job("big", minute: 0, gpus: 2, gpuGiB: 10), Job("small", minute: 1, gpus: 1, gpuGiB: 10)],
            [Capacity("w1", gpus: 2)],
            [Running("holder", "w1", gpus: [0])]);
        Assert.Equal(Decisions(Place("small", "w1", [1], 1)), plan.Decisions);
    }
}
