using Microsoft.Extensions.Options;
using Moe.Platform.Grains.Runs;
using Moe.Platform.Grains.Scheduling;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Orleans.Serialization;
using Orleans.Storage;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Grains;

/// <summary>
/// The silo's EF Core grain storage writes state as System.Text.Json, so the grains' states (which hold Core records)
/// must survive that too, not only Orleans' own serializer used by the in-memory storage in the other tests.
/// </summary>
public sealed class GrainStateJsonTests
{
    private static readonly SystemTextJsonGrainStorageSerializer Json =
        new(Options.Create(new SystemTextJsonGrainStorageSerializerOptions()));

    private static readonly DateTimeOffset At = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Run_state_round_trips_through_json()
    {
        var state = new RunState
        {
            Spec = Spec(priority: 2, gpus: 1, gpuGiB: 40, tags: "a100"), SubmittedAt = At,
            Lifecycle = new RunLifecycleState(RunStatus.Running, 1, 2,
                [new(RunStatus.Queued, RunStatus.Scheduled, At, "placed"), new(RunStatus.Scheduled, RunStatus.Running, At, "started")]),
            WorkerId = "w1", LastStep = 12, BestValLoss = 1.5,
        };

        var back = Json.Deserialize<RunState>(Json.Serialize(state))!;

        Assert.Equal(state.Spec! with { RequiredTags = [] }, back.Spec! with { RequiredTags = [] });
        Assert.Equal(["a100"], back.Spec!.RequiredTagsOrEmpty);
        Assert.Equal(state.Lifecycle!.History, back.Lifecycle!.History);
        Assert.Equal((RunStatus.Running, 1, 2), (back.Lifecycle.Status, back.Lifecycle.Attempt, back.Lifecycle.MaxRetries));
        Assert.Equal((state.WorkerId, state.LastStep, state.BestValLoss, state.SubmittedAt),
            (back.WorkerId, back.LastStep, back.BestValLoss, back.SubmittedAt));
    }

    [Fact]
    public void Scheduler_state_round_trips_through_json()
    {
        var job = new QueuedJob("r1", "exp", 3, At, new ResourceRequest(1, 40 * GiB, 2), ["a100"]);
        var running = new RunningJob("r2", "exp", 1, "w1", [0, 1], 4, At, Stopping: true);
        var state = new SchedulerState
        {
            // The scheduler stores arrays non-default (JSON cannot write a default ImmutableArray).
            Queue = { ["r1"] = job }, Workers = { ["w1"] = Capacity("w1", gpus: 2) with { Tags = ["train"] } },
            Running = { ["r2"] = running },
        };

        var back = Json.Deserialize<SchedulerState>(Json.Serialize(state))!;

        Assert.Equal(job with { RequiredTags = [] }, back.Queue["r1"] with { RequiredTags = [] });
        Assert.Equal(["a100"], back.Queue["r1"].RequiredTagsOrEmpty);
        Assert.Equal(state.Workers["w1"].Gpus, back.Workers["w1"].Gpus);
        Assert.Equal(running with { GpuIndexes = [] }, back.Running["r2"] with { GpuIndexes = [] });
        Assert.Equal([0, 1], back.Running["r2"].GpuIndexes);
    }
}
