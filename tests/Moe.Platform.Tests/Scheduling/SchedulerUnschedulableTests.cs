using Moe.Platform.Scheduling;
using static Moe.Platform.Tests.Scheduling.Cluster;

namespace Moe.Platform.Tests.Scheduling;

/// <summary>Jobs no worker could ever hold are reported with a reason instead of waiting forever.</summary>
public class SchedulerUnschedulableTests
{
    private static string ReasonFor(QueuedJob job, params WorkerCapacity[] workers) =>
        Assert.IsType<Unschedulable>(Assert.Single(Plan([job], workers).Decisions)).Reason;

    [Fact]
    public void Too_many_gpus()
    {
        Assert.Equal("asks for 4 GPUs, the largest worker has 2",
            ReasonFor(Job("r", gpus: 4), Capacity("w1", gpus: 2), Capacity("w2", gpus: 1)));
    }

    [Fact]
    public void Too_few_gpus_with_enough_memory()
    {
        Assert.Equal(
            "asks for 3 GPUs with 40 GiB each; no worker has more than 2 that large (the largest GPU has 80 GiB)",
            ReasonFor(Job("r", gpus: 3, gpuGiB: 40), Capacity("w24", gpus: 4, gpuGiB: 24), Capacity("w80", gpus: 2, gpuGiB: 80)));
    }

    [Fact]
    public void Too_many_cpu_slots()
    {
        Assert.Equal("asks for 64 CPU slots, the largest worker has 32",
            ReasonFor(Job("r", cpu: 64), Capacity("w1", cpu: 32), Capacity("w2", cpu: 8)));
    }

    [Fact]
    public void Each_part_fits_somewhere_but_no_worker_has_all()
    {
        Assert.Equal("asks for 2 GPUs with 10 GiB each and 32 CPU slots, and no single worker has all of it",
            ReasonFor(Job("r", gpus: 2, gpuGiB: 10, cpu: 32), Capacity("gpu", gpus: 4, cpu: 8), Capacity("cpu", cpu: 64)));
    }

    [Fact]
    public void Missing_tags()
    {
        Assert.Equal("needs tags [tpu], which no worker has", ReasonFor(Job("r", tags: "tpu"), Capacity("w1", tags: "gpu")));
    }

    [Fact]
    public void Tags_narrow_the_capacity_the_message_quotes()
    {
        Assert.Equal("asks for 2 GPUs, the largest worker with tags [a100] has 1",
            ReasonFor(Job("r", gpus: 2, tags: "a100"), Capacity("w1", gpus: 1, tags: "a100"), Capacity("w2", gpus: 8)));
    }

    [Fact]
    public void Malformed_request()
    {
        Assert.Equal("invalid request: gpus must be between 0 and 64, got -1", ReasonFor(Job("r", gpus: -1), Capacity("w1")));
        Assert.Equal("invalid request: asks for no GPUs and no CPU slots", ReasonFor(Job("r", cpu: 0), Capacity("w1")));
        var error = Assert.Throws<PlatformException>(() => new ResourceRequest(1, -5, 1).Validate());
        Assert.Equal("resources: gpu_memory_bytes must be between 0 and 4398046511104 (4 TiB), got -5", error.Message);
        Assert.StartsWith("resources: gpus must be between 0 and 64", Assert.Throws<PlatformException>(() => new ResourceRequest(int.MaxValue, 0, 1).Validate()).Message);
    }

    [Fact]
    public void With_no_workers_at_all_a_job_waits_for_one_to_join()
    {
        // Workers join and leave (a silo starting, a GPU machine added): an empty pool says nothing about what fits.
        Assert.Empty(Plan([Job("r", gpus: 8)], [], []).Decisions);
        Assert.Equal("invalid request: asks for no GPUs and no CPU slots", ReasonFor(Job("r", cpu: 0)));
    }

    [Fact]
    public void A_job_that_fits_an_empty_worker_waits_silently_while_the_worker_is_busy()
    {
        var plan = Plan([Job("r", gpus: 2)], [Capacity("w1", gpus: 2)], [Running("busy", "w1", gpus: [0, 1])]);
        Assert.Empty(plan.Decisions);
    }
}
