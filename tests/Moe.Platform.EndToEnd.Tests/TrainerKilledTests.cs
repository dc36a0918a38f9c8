using System.Diagnostics;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Tests;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>kill -9 of the trainer mid-run: the run is retried, resumes from its checkpoint and finishes, every step once.</summary>
public sealed class TrainerKilledTests(TinyTrainingSetup data)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_killed_trainer_is_retried_from_its_checkpoint_and_the_curve_has_each_step_once()
    {
        await using var stack = await PlatformStack.StartAsync();
        var experiment = await stack.NewExperimentAsync("kill");
        var runId = PlatformIds.New("run");
        const int steps = 80, checkpointEvery = 5;
        await stack.Client.GetRun(runId).CreateAsync(
            TrainingThroughTheGrainsTests.Spec(data, experiment, "killed", steps, checkpointEvery, keepLast: 3));

        // Kill once the run has passed a few checkpoints (its progress comes from the metrics the worker sends).
        var running = await stack.WaitForAsync(runId, r => r.LastStep >= 17 || r.Status.IsTerminal(), TimeSpan.FromMinutes(2));
        Assert.Equal(RunStatus.Running, running.Status);
        var pid = stack.Worker.ProcessIdOf(runId) ?? throw new InvalidOperationException("no trainer process for the run");
        using (var kill = Process.Start("kill", ["-9", pid.ToString()])) await kill.WaitForExitAsync(Ct);

        var run = await stack.WaitForAsync(runId, r => r.Status.IsTerminal(), TimeSpan.FromMinutes(3));

        Assert.True(run.Status == RunStatus.Succeeded, string.Join("\n", run.History.Select(t => $"{t.To}: {t.Reason}")));
        Assert.Equal(2, run.Attempt);
        var retry = Assert.Single(run.History, t => t.To == RunStatus.Retrying);
        Assert.Contains("SIGKILL", retry.Reason);
        Assert.Equal(
            [RunStatus.Scheduled, RunStatus.Running, RunStatus.Retrying, RunStatus.Queued, RunStatus.Scheduled, RunStatus.Running, RunStatus.Succeeded],
            run.History.Select(t => t.To));

        // The second process resumed from a checkpoint (not step 0) and the stored curve has every step exactly once.
        var resumedFrom = File.ReadLines(Path.Combine(stack.WorkDirectory, "runs", runId, "metrics.jsonl"))
            .Where(l => l.Contains("\"type\":\"start\"")).ToList();
        Assert.Equal(2, resumedFrom.Count);
        Assert.Contains("\"resumed_from\":\"", resumedFrom[1]);
        await using var db = stack.NewContext();
        await StoredCurves.AssertEachStepOnceAsync(db, runId, steps);
    }
}
