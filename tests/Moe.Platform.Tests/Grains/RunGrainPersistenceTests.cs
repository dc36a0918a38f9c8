using Moe.Platform.Runs;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Grains;

/// <summary>A run's state lives in grain storage, not in the activation.</summary>
public sealed class RunGrainPersistenceTests(PlatformCluster platform) : IClassFixture<PlatformCluster>
{
    [Fact]
    public async Task A_deactivated_run_comes_back_with_its_status_history_and_progress()
    {
        var run = platform.Run(NewId("persist"));
        await run.CreateAsync(Spec(priority: 3, gpus: 1, gpuGiB: 40, maxRetries: 2, tags: "a100"));
        await run.MarkScheduledAsync("w1");
        await run.MarkRunningAsync();
        await run.ReportProgressAsync(7, 1.25);
        await run.ReportProcessLostAsync("worker rebooted");
        var before = await run.GetAsync();

        await platform.Cluster.DeactivateAsync(run);
        var after = await run.GetAsync();

        RunAssert.Same(before, after);
        Assert.Equal(RunStatus.Queued, after.Status);
        Assert.Equal(2, after.Attempt);
        Assert.Equal(["a100"], after.Spec.RequiredTagsOrEmpty);
        Assert.Equal(4, after.History.Length);
        Assert.Equal(7, after.LastStep);

        // It still enforces the machine after reloading: it cannot succeed from Queued.
        await Assert.ThrowsAsync<IllegalTransitionException>(() => run.MarkSucceededAsync());
    }
}
