using Moe.Platform.Worker.Events;
using Moe.Supervision;
using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Worker.Tests;

/// <summary>Real <c>moe-trainer train --json</c> children on the tiny corpus: a full run, a graceful stop, an escalated stop, a bad config.</summary>
public sealed class TrainingJobTests(TinyTrainingSetup setup)
{
    [Fact]
    public async Task ARunToCompletionReportsEveryStepOnceWithEvalsAndCheckpoints()
    {
        var command = await setup.CommandAsync("complete", steps: 24, checkpointEvery: 8, evalEvery: 12);
        await using var job = TrainingJob.Start(command);
        var (events, outcome) = await JobRecorder.RecordAsync(job);

        Assert.Equal(JobOutcomeKind.Completed, outcome.Kind);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(24, outcome.LastStep);
        Assert.Equal(Enumerable.Range(1, 24).Select(s => (long)s), events.Steps());
        var started = Assert.IsType<TrainingStarted>(events[0]);
        Assert.Null(started.ResumedFrom);
        Assert.Equal(24, started.TotalSteps);
        Assert.Equal("completed", Assert.IsType<TrainingEnded>(events[^1]).Reason);
        Assert.Empty(events.OfType<MalformedLine>());

        // Evaluations every 12 steps and before each checkpoint (every 8).
        Assert.Equal([8L, 12, 16, 24], events.OfType<EvalCompleted>().Select(e => e.Step));
        Assert.All(events.OfType<EvalCompleted>(), e => Assert.Equal(Math.Exp(e.ValLoss), e.ValPpl, 3));
        var checkpoints = events.OfType<CheckpointWritten>().ToList();
        Assert.Equal([8L, 16, 24], checkpoints.Select(c => c.Step));
        Assert.All(checkpoints, c => Assert.EndsWith($"step-{c.Step:D8}", c.Path));

        var step = events.OfType<TrainingStep>().Last();
        Assert.Equal(24 * 4 * 16, step.Tokens);
        Assert.True(step.Loss > 0 && step.Lr > 0 && step.GradNorm > 0 && step.TokensPerSecond > 0);
        Assert.Equal([0, 1], step.Router.Select(r => r.Layer));
        Assert.All(step.Router, r => Assert.Equal(1.0, r.Load.Sum(), 3));
        Assert.NotNull(step.Raw["router"]);
    }

    [Fact]
    public async Task AGracefulStopCheckpointsTheStopStepAndEndsCancelled()
    {
        var command = await setup.CommandAsync("graceful", steps: 100_000, checkpointEvery: 100_000, evalEvery: 1000);
        await using var job = TrainingJob.Start(command);
        Task<JobOutcome>? stopping = null;
        var (events, outcome) = await JobRecorder.RecordAsync(job, e =>
        {
            if (e is TrainingStep { Step: >= 3 } && stopping is null) stopping = job.StopAsync(TimeSpan.FromSeconds(60));
            return Task.CompletedTask;
        });

        Assert.NotNull(stopping);
        Assert.Same(outcome, await stopping);
        Assert.True(outcome.Kind == JobOutcomeKind.Cancelled, outcome.ToString());
        Assert.Equal(130, outcome.ExitCode);
        var ended = Assert.IsType<TrainingEnded>(events[^1]);
        Assert.Equal("cancelled", ended.Reason);
        var checkpoint = Assert.Single(events.OfType<CheckpointWritten>());
        Assert.Equal(ended.Step, checkpoint.Step);
        Assert.Equal(ended.Step, outcome.LastCheckpointStep);
        Assert.Equal(ended.Step, outcome.LastStep);
        Assert.True(Directory.Exists(checkpoint.Path));
        Assert.Contains(outcome.StderrTail, l => l.Contains("SIGTERM"));
    }

    [Fact]
    public async Task AStopThatOutlastsTheGracePeriodEndsWithSigkill()
    {
        var command = await setup.CommandAsync("escalated", steps: 100_000, checkpointEvery: 100_000, evalEvery: 1000);
        await using var job = TrainingJob.Start(command);
        Task<JobOutcome>? stopping = null;
        var (_, outcome) = await JobRecorder.RecordAsync(job, e =>
        {
            // No grace at all: SIGKILL follows SIGTERM before the trainer can finish its step.
            if (e is TrainingStep && stopping is null) stopping = job.StopAsync(TimeSpan.Zero);
            return Task.CompletedTask;
        });

        Assert.NotNull(stopping);
        await stopping;
        Assert.True(outcome.Kind == JobOutcomeKind.Killed, outcome.ToString());
        Assert.Equal(PosixSignals.SigKill, outcome.Signal);
        Assert.Equal(137, outcome.ExitCode);
    }

    [Fact]
    public async Task ABadConfigFailsWithTheTrainersMessageInTheStderrTail()
    {
        var command = await setup.CommandAsync("bad", steps: 10, checkpointEvery: 5, extraArguments: ["training.seq_len=99999"]);
        await using var job = TrainingJob.Start(command);
        var (events, outcome) = await JobRecorder.RecordAsync(job);

        Assert.Equal(JobOutcomeKind.Failed, outcome.Kind);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Empty(events);
        Assert.Contains(outcome.ErrorLines, l => l.Contains("training.seq_len: 99999 is longer than the model's context"));
        Assert.Contains("training.seq_len: 99999", outcome.ToString());
    }
}
