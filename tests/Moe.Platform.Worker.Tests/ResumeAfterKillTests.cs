using System.Diagnostics;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Worker.Checkpoints;
using Moe.Platform.Worker.Events;
using Moe.Supervision;
using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Worker.Tests;

/// <summary>
/// kill -9 in the middle of a run, then the same command again: the trainer resumes right after its newest checkpoint,
/// and the two event streams merged by step (as the metric store upserts them) hold every step exactly once.
/// </summary>
public sealed class ResumeAfterKillTests(TinyTrainingSetup setup)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AKilledJobStartedAgainResumesFromTheLastCheckpointAndFinishes()
    {
        const int steps = 100, checkpointEvery = 5;
        var command = await setup.CommandAsync("killed", steps, checkpointEvery, evalEvery: 20);
        var store = new LocalArtifactStore(Path.Combine(setup.Root, "store-killed"));
        var uploader = new CheckpointUploader(store, "killed");

        await using var first = TrainingJob.Start(command);
        // Watch the job's own step counter (the stdout reader), not the events we consume behind uploads: less lag.
        var killer = Task.Run(async () =>
        {
            while ((first.LastStep ?? 0) < 12 && !first.HasExited) await Task.Delay(2, Ct);
            using var kill = Process.Start("kill", ["-9", first.ProcessId.ToString()]);
            await kill.WaitForExitAsync(Ct);
        }, Ct);
        var (before, killedOutcome) = await JobRecorder.RecordAsync(first, e => uploader.HandleAsync(e, Ct));
        await killer;
        Assert.True(killedOutcome.Kind == JobOutcomeKind.Killed, killedOutcome.ToString());
        Assert.Equal(PosixSignals.SigKill, killedOutcome.Signal);
        Assert.DoesNotContain(before, e => e is TrainingEnded);
        var lastCheckpointSeen = before.OfType<CheckpointWritten>().Max(c => c.Step);
        Assert.True(lastCheckpointSeen >= 10, $"last checkpoint seen {lastCheckpointSeen}");

        await using var second = TrainingJob.Start(command); // the same command: nothing special to resume
        var (after, outcome) = await JobRecorder.RecordAsync(second, e => uploader.HandleAsync(e, Ct));

        Assert.True(outcome.Kind == JobOutcomeKind.Completed, outcome.ToString());
        var started = Assert.IsType<TrainingStarted>(after[0]);
        Assert.NotNull(started.ResumedFrom);
        // It may resume from a later checkpoint than the last one we saw: one can be complete on disk before its line is out.
        var resumedStep = started.Step;
        Assert.True(resumedStep >= lastCheckpointSeen && resumedStep % checkpointEvery == 0, $"resumed from {resumedStep}");
        Assert.EndsWith($"step-{resumedStep:D8}", started.ResumedFrom);
        Assert.Equal(resumedStep + 1, after.OfType<TrainingStep>().First().Step);
        Assert.Equal(Enumerable.Range((int)resumedStep + 1, steps - (int)resumedStep).Select(s => (long)s), after.Steps());

        // The steps the killed process ran after its checkpoint are re-run; merged by step (newest wins) each appears once.
        var merged = new Dictionary<long, TrainingStep>();
        foreach (var step in before.Concat(after).OfType<TrainingStep>()) merged[step.Step] = step;
        Assert.Equal(Enumerable.Range(1, steps).Select(s => (long)s), merged.Keys.Order());
        Assert.All(after.OfType<TrainingStep>(), s => Assert.Same(s, merged[s.Step]));

        // The store mirrors the run folder's checkpoints across both processes.
        var onDisk = Directory.GetDirectories(Path.Combine(command.RunDirectory, "checkpoints"))
            .Select(d => long.Parse(Path.GetFileName(d)["step-".Length..])).Order().ToList();
        Assert.Contains((long)steps, onDisk);
        Assert.Subset(uploader.UploadedSteps.ToHashSet(), onDisk.ToHashSet());
        // Only a deletion whose line died with the killed process can leave an older step behind in the store.
        Assert.All(uploader.UploadedSteps.Except(onDisk), s => Assert.True(s < resumedStep));
    }
}
