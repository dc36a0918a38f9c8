using Moe.Platform.Runs;
using Moe.Platform.Worker.Tests;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// One worker with one CPU slot: a higher-priority run preempts the running one, whose trainer checkpoints and stops;
/// the preempted run waits, then resumes from that checkpoint once the slot is free, and both finish.
/// </summary>
public sealed class PreemptionTests(TinyTrainingSetup data)
{
    [Fact]
    public async Task A_preempted_run_stops_at_a_checkpoint_and_resumes_from_it_after_the_urgent_run()
    {
        await using var stack = await PlatformStack.StartAsync();
        var experiment = await stack.NewExperimentAsync("preempt");
        var low = PlatformIds.New("low");
        var high = PlatformIds.New("high");
        await stack.Client.GetRun(low).CreateAsync(TrainingThroughTheGrainsTests.Spec(data, experiment, "low", steps: 120, checkpointEvery: 10));
        await stack.WaitForAsync(low, r => r.LastStep >= 15 || r.Status.IsTerminal(), TimeSpan.FromMinutes(2));

        await stack.Client.GetRun(high).CreateAsync(
            TrainingThroughTheGrainsTests.Spec(data, experiment, "high", steps: 20, checkpointEvery: 10) with { Priority = 10 });
        var urgent = await stack.WaitForAsync(high, r => r.Status.IsTerminal(), TimeSpan.FromMinutes(2));
        var preempted = await stack.WaitForAsync(low, r => r.Status.IsTerminal(), TimeSpan.FromMinutes(3));

        Assert.Equal(RunStatus.Succeeded, urgent.Status);
        Assert.True(preempted.Status == RunStatus.Succeeded, string.Join("\n", preempted.History.Select(t => $"{t.To}: {t.Reason}")));
        Assert.Equal(
            [RunStatus.Scheduled, RunStatus.Running, RunStatus.Resuming, RunStatus.Queued, RunStatus.Scheduled, RunStatus.Running, RunStatus.Succeeded],
            preempted.History.Select(t => t.To));
        Assert.Contains($"for run {high}", preempted.History[2].Reason);
        Assert.Equal(1, preempted.Attempt); // a preemption is not a failure: no retry used
        // The urgent run ran while the preempted one waited.
        var lowQueued = preempted.History[3].At;
        var lowBack = preempted.History[5].At;
        Assert.InRange(urgent.History.First(t => t.To == RunStatus.Running).At, lowQueued, lowBack);
        // The second process resumed from the checkpoint the stop wrote, not from scratch.
        var starts = File.ReadLines(Path.Combine(stack.WorkDirectory, "runs", low, "metrics.jsonl")).Where(l => l.Contains("\"type\":\"start\"")).ToList();
        Assert.Equal(2, starts.Count);
        Assert.Contains("\"resumed_from\":\"", starts[1]);
    }
}
