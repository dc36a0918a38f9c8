using Moe.Platform.Scheduling;
using static Moe.Platform.Tests.Scheduling.Cluster;

namespace Moe.Platform.Tests.Scheduling;

/// <summary>When a higher-priority job cannot be placed, the fewest cheapest lower-priority runs make room.</summary>
public class SchedulerPreemptionTests
{
    [Fact]
    public void Lowest_priority_and_most_recently_started_go_first()
    {
        RunningJob[] running =
        [
            Running("p0-old", "w1", priority: 0, gpus: [0], minute: 1),
            Running("p0-new", "w1", priority: 0, gpus: [1], minute: 2),
            Running("p1", "w1", priority: 1, gpus: [2], minute: 3),
            Running("p9", "w1", priority: 9, gpus: [3], minute: 0),
        ];
        var one = Plan([Job("urgent", priority: 5, gpus: 1)], [Capacity("w1", gpus: 4)], running);
        Assert.Equal(Decisions(new Preempt("p0-new", "urgent", "w1")), one.Decisions);

        var two = Plan([Job("urgent", priority: 5, gpus: 2)], [Capacity("w1", gpus: 4)], running);
        Assert.Equal(Decisions(new Preempt("p0-new", "urgent", "w1"), new Preempt("p0-old", "urgent", "w1")), two.Decisions);
    }

    [Fact]
    public void A_victim_made_redundant_by_a_larger_one_is_spared()
    {
        // Cheapest-first takes "small" (1 GPU, not enough) then "large" (2 GPUs); "large" alone suffices.
        var plan = Plan([Job("urgent", priority: 5, gpus: 2)], [Capacity("w1", gpus: 4)],
        [
            Running("small", "w1", priority: 0, gpus: [0]),
            Running("large", "w1", priority: 1, gpus: [1, 2]),
            Running("keep", "w1", priority: 9, gpus: [3]),
        ]);
        Assert.Equal(Decisions(new Preempt("large", "urgent", "w1")), plan.Decisions);
    }

    [Fact]
    public void The_worker_whose_victims_matter_least_is_chosen()
    {
        // w1 would stop one priority-3 run; w2 two priority-1 runs. Less important work loses.
        var plan = Plan([Job("urgent", priority: 5, gpus: 2)], [Capacity("w1", gpus: 2), Capacity("w2", gpus: 2)],
        [
            Running("w1-p3", "w1", priority: 3, gpus: [0, 1]),
            Running("w2-p1a", "w2", priority: 1, gpus: [0], minute: 1),
            Running("w2-p1b", "w2", priority: 1, gpus: [1], minute: 2),
        ]);
        Assert.Equal(Decisions(new Preempt("w2-p1b", "urgent", "w2"), new Preempt("w2-p1a", "urgent", "w2")),
            plan.Decisions);
    }

    [Fact]
    public void Equal_or_higher_priority_runs_are_never_preempted()
    {
        var plan = Plan([Job("r", priority: 5, gpus: 1)], [Capacity("w1", gpus: 2)],
            [Running("same", "w1", priority: 5, gpus: [0]), Running("higher", "w1", priority: 7, gpus: [1])]);
        Assert.Empty(plan.Decisions);
    }

    [Fact]
    public void Nothing_is_preempted_when_all_lower_runs_together_are_not_enough()
    {
        var plan = Plan([Job("r", priority: 5, gpus: 2)], [Capacity("w1", gpus: 2)],
            [Running("low", "w1", priority: 0, gpus: [0]), Running("high", "w1", priority: 9, gpus: [1])]);
        Assert.Empty(plan.Decisions);
    }

    [Fact]
    public void Gpus_freed_by_victims_count_at_their_total_memory()
    {
        // The victim's GPU reports 2 GiB free while it runs; once stopped all 80 GiB are available.
        var worker = new WorkerCapacity("w1", [new GpuInfo(0, "H100", 80 * GiB, 2 * GiB)], CpuSlots: 4);
        var plan = Plan([Job("urgent", priority: 5, gpus: 1, gpuGiB: 70)], [worker], [Running("low", "w1", gpus: [0])]);
        Assert.Equal(Decisions(new Preempt("low", "urgent", "w1")), plan.Decisions);
    }

    [Fact]
    public void What_a_preempting_job_will_use_is_held_back_from_later_jobs()
    {
        // "urgent" needs GPU 1 (free) and GPU 0 (after "low" stops); "filler" must not take GPU 1 meanwhile.
        var plan = Plan(
            [Job("urgent", priority: 5, gpus: 2), Job("filler", priority: 3, gpus: 1)],
            [Capacity("w1", gpus: 2)],
            [Running("low", "w1", priority: 0, gpus: [0])]);
        Assert.Equal(Decisions(new Preempt("low", "urgent", "w1")), plan.Decisions);
    }

    [Fact]
    public void Runs_already_stopping_are_waited_for_not_preempted_again()
    {
        RunningJob[] running =
        [
            Running("stopping", "w1", priority: 0, gpus: [0], minute: 5, stopping: true),
            Running("other", "w1", priority: 0, gpus: [1], minute: 1),
        ];
        var waits = Plan([Job("urgent", priority: 5, gpus: 1)], [Capacity("w1", gpus: 2)], running);
        Assert.Empty(waits.Decisions);

        var needsMore = Plan([Job("urgent", priority: 5, gpus: 2)], [Capacity("w1", gpus: 2)], running);
        Assert.Equal(Decisions(new Preempt("other", "urgent", "w1")), needsMore.Decisions);
    }

    [Fact]
    public void Cpu_slots_are_freed_and_counted_too()
    {
        var plan = Plan([Job("urgent", priority: 2, cpu: 6)], [Capacity("w1", cpu: 8)],
        [
            Running("a", "w1", priority: 0, cpu: 2, minute: 1),
            Running("b", "w1", priority: 0, cpu: 4, minute: 2),
            Running("c", "w1", priority: 1, cpu: 2, minute: 3),
        ]);
        // Cheapest first: b (newest p0, 4 slots: 4 free) then a (6 free); neither is redundant.
        Assert.Equal(Decisions(new Preempt("b", "urgent", "w1"), new Preempt("a", "urgent", "w1")), plan.Decisions);
    }

    [Fact]
    public void A_job_that_fits_now_is_placed_without_preempting()
    {
        var plan = Plan([Job("urgent", priority: 5, gpus: 1)], [Capacity("w1", gpus: 2)],
            [Running("low", "w1", priority: 0, gpus: [0])]);
        Assert.Equal(Decisions(Place("urgent", "w1", [1], 1)), plan.Decisions);
    }
}
