using Moe.Platform.Runs;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Tests.Runs;

/// <summary>The progress line reads the run's own steps (the demo once showed 332/600 for a 2,000-step run after a restart).</summary>
public class RunProgressTests
{
    private static RunSnapshot Run(string configJson, long? step, double? best = null, string? worker = "w1") => new(
        "run-1", new RunSpec("exp", "demo", 0, new ResourceRequest(0, 0, 1), configJson, 2), DateTimeOffset.UnixEpoch,
        RunStatus.Running, 1, [], worker, step, best);

    [Fact]
    public void The_bar_counts_the_runs_own_training_steps()
    {
        var run = Run("""{"name": "demo", "training": {"steps": 2000}}""", step: 332, best: 5.4321);
        var progress = RunProgress.Of(run.Spec);

        Assert.Equal(2000, progress.TotalSteps);
        Assert.Equal(3, progress.Bucket(run)); // 20 * 332 / 2000
        Assert.Equal("run-1 Running   [###.................] 332/2000  best val loss 5.432  on w1", progress.Line(run));
    }

    [Fact]
    public void Without_a_step_count_it_shows_the_step_and_the_bar_never_overflows()
    {
        var unknown = Run("""{"name": "x"}""", step: 7, worker: null);
        var progress = RunProgress.Of(unknown.Spec);
        Assert.Equal("run-1 Running   step 7", progress.Line(unknown));
        Assert.Equal(7, progress.Bucket(unknown));
        var past = Run("""{"training": {"steps": 20}}""", step: 30);
        Assert.Contains("[####################] 30/20", RunProgress.Of(past.Spec).Line(past));
    }
}
