using Moe.Platform.Scheduling;
using static Moe.Platform.Tests.Scheduling.Cluster;

namespace Moe.Platform.Tests.Scheduling;

/// <summary>Where a job goes: best fit, GPU memory, tags, and never booking anything twice.</summary>
public class SchedulerPlacementTests
{
    private static readonly WorkerCapacity[] ThreeSizes =
        [Capacity("w-big", gpus: 8, cpu: 64), Capacity("w-small", gpus: 2, cpu: 64), Capacity("w-mid", gpus: 4, cpu: 64)];

    [Fact]
    public void Gpu_job_goes_where_the_fewest_gpus_are_left_over()
    {
        Assert.Equal(Decisions(Place("r", "w-small", [0, 1], 1)),
            Plan([Job("r", gpus: 2, gpuGiB: 40)], ThreeSizes).Decisions);
        Assert.Equal(Decisions(Place("r", "w-mid", [0, 1, 2], 1)),
            Plan([Job("r", gpus: 3, gpuGiB: 40)], ThreeSizes).Decisions);
    }

    [Fact]
    public void Later_jobs_in_a_plan_see_earlier_placements()
    {
        // After r1 fills w-small, the best fit for r2 is w-mid (2 left over), not w-big (6).
        var plan = Plan([Job("r1", minute: 0, gpus: 2), Job("r2", minute: 1, gpus: 2)], ThreeSizes);
        Assert.Equal(Decisions(Place("r1", "w-small", [0, 1], 1), Place("r2", "w-mid", [0, 1], 1)), plan.Decisions);
    }

    [Fact]
    public void Gpus_without_enough_memory_are_skipped_even_when_the_worker_fits_best()
    {
        var plan = Plan([Job("r", gpus: 2, gpuGiB: 40)], [Capacity("w-small", gpus: 2, gpuGiB: 24), Capacity("w-big", gpus: 4)]);
        Assert.Equal(Decisions(Place("r", "w-big", [0, 1], 1)), plan.Decisions);
    }

    [Fact]
    public void Free_memory_reported_by_the_worker_counts_and_the_tightest_gpus_are_used()
    {
        var worker = new WorkerCapacity("w1",
        [
            new GpuInfo(0, "H100", 80 * GiB, 10 * GiB), // mostly used by something outside the platform
            new GpuInfo(1, "H100", 80 * GiB, 80 * GiB),
            new GpuInfo(2, "L40", 40 * GiB, 40 * GiB),
            new GpuInfo(3, "H100", 80 * GiB, 75 * GiB),
        ], CpuSlots: 8);
        var plan = Plan([Job("big", minute: 0, gpus: 2, gpuGiB: 60), Job("small", minute: 1, gpus: 1, gpuGiB: 30)], [worker]);
        Assert.Equal(Decisions(Place("big", "w1", [1, 3], 1), Place("small", "w1", [2], 1)), plan.Decisions);
    }

    [Fact]
    public void No_gpu_is_booked_twice_in_one_plan()
    {
        var plan = Plan([Job("r1", minute: 0, gpus: 1), Job("r2", minute: 1, gpus: 1), Job("r3", minute: 2, gpus: 1)],
            [Capacity("w1", gpus: 2)]);
        Assert.Equal(Decisions(Place("r1", "w1", [0], 1), Place("r2", "w1", [1], 1)), plan.Decisions);
    }

    [Fact]
    public void No_cpu_slot_is_booked_twice_in_one_plan()
    {
        var plan = Plan([Job("r1", minute: 0, cpu: 3), Job("r2", minute: 1, cpu: 2), Job("r3", minute: 2, cpu: 1)],
            [Capacity("w1", cpu: 4)]);
        Assert.Equal(Decisions(Place("r1", "w1", [], 3), Place("r3", "w1", [], 1)), plan.Decisions);
    }

    [Fact]
    public void Resources_held_by_running_jobs_are_not_free()
    {
        var plan = Plan([Job("r", gpus: 1, cpu: 4)], [Capacity("w1", gpus: 2, cpu: 8)],
            [Running("old", "w1", gpus: [0], cpu: 4)]);
        Assert.Equal(Decisions(Place("r", "w1", [1], 4)), plan.Decisions);

        var full = Plan([Job("r", gpus: 1, cpu: 5)], [Capacity("w1", gpus: 2, cpu: 8)],
            [Running("old", "w1", gpus: [0], cpu: 4)]);
        Assert.Empty(full.Decisions);
    }

    [Fact]
    public void Cpu_jobs_keep_off_gpu_workers_then_fit_tightest()
    {
        WorkerCapacity[] workers = [Capacity("c1", cpu: 8), Capacity("c2", cpu: 4), Capacity("g1", gpus: 2, cpu: 4)];
        var plan = Plan([Job("r1", minute: 0, cpu: 4), Job("r2", minute: 1, cpu: 2)], workers);
        Assert.Equal(Decisions(Place("r1", "c2", [], 4), Place("r2", "c1", [], 2)), plan.Decisions);
    }

    [Fact]
    public void Equal_fits_go_to_the_lowest_worker_id()
    {
        var plan = Plan([Job("r", gpus: 1)], [Capacity("w2", gpus: 1), Capacity("w1", gpus: 1)]);
        Assert.Equal(Decisions(Place("r", "w1", [0], 1)), plan.Decisions);
    }

    [Fact]
    public void Required_tags_restrict_the_workers()
    {
        var plan = Plan([Job("r", gpus: 1, tags: "a100")],
            [Capacity("w1", gpus: 1, tags: "h100"), Capacity("w2", gpus: 4, tags: ["a100", "train"])]);
        Assert.Equal(Decisions(Place("r", "w2", [0], 1)), plan.Decisions);
    }

    [Fact]
    public void Duplicate_ids_in_the_snapshot_are_refused()
    {
        Assert.Equal("queue", Assert.Throws<PlatformException>(() => Plan([Job("r"), Job("r")], [Capacity("w1")])).Field);
        Assert.Equal("workers", Assert.Throws<PlatformException>(() => Plan([], [Capacity("w1"), Capacity("w1")])).Field);
        var both = Assert.Throws<PlatformException>(() => Plan([Job("r")], [Capacity("w1")], [Running("r", "w1")]));
        Assert.Equal("queue: run r is both queued and running", both.Message);
    }
}
