using Microsoft.Extensions.Logging;
using Moe.Platform.Worker.Events;
using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Worker.Tests;

/// <summary>
/// The supervision itself, with a shell script standing in for the trainer: output that is not a record, a long stderr,
/// exit codes and signals, none of which need torch.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // shell scripts and POSIX signals
public sealed class FakeTrainerJobTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"moe-fake-trainer-{Guid.NewGuid():N}");

    public FakeTrainerJobTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A "trainer" running <paramref name="body"/> under sh; it records its arguments in args.txt.</summary>
    private TrainerCommand Script(string body, params string[] extra)
    {
        var path = Path.Combine(_dir, $"trainer-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, $"#!/bin/sh\necho \"$@\" > \"{_dir}/args.txt\"\n{body}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new TrainerCommand(TrainerExecutable.FromExecutable(path), Path.Combine(_dir, "spec.json"), Path.Combine(_dir, "run"),
            Device: "cuda:1", ExtraArguments: extra);
    }

    [Fact]
    public async Task MalformedStdoutLinesAreReportedAndTheStreamGoesOn()
    {
        var logger = new ListLogger();
        var command = Script("""
            echo '{"type":"start","step":0,"run":"r","device":"cpu","dtype":"Float32","total_steps":2,"tokens_per_step":64,"resumed_from":null}'
            echo 'libtorch says hello'
            echo ''
            echo '{"type":"step","step":1,"tokens":64,"loss":5.5,"lm_loss":5.4,"aux_loss":0.1,"lr":0.01,"grad_norm":1,"tokens_per_s":100,"router":[]}'
            echo '{"type":"step","step":2,"tok'
            echo '{"type":"end","step":2,"reason":"completed"}'
            """, "training.steps=2");
        await using var job = TrainingJob.Start(command, new TrainingJobOptions { Logger = logger });
        var (events, outcome) = await JobRecorder.RecordAsync(job);

        Assert.Equal(JobOutcomeKind.Completed, outcome.Kind);
        Assert.Collection(events,
            e => Assert.IsType<TrainingStarted>(e),
            e => Assert.Equal((2L, "libtorch says hello"), (Assert.IsType<MalformedLine>(e).LineNumber, ((MalformedLine)e).Text)),
            e => Assert.Equal(1, Assert.IsType<TrainingStep>(e).Step),
            e => Assert.Equal(5, Assert.IsType<MalformedLine>(e).LineNumber),
            e => Assert.Equal("completed", Assert.IsType<TrainingEnded>(e).Reason));
        Assert.Equal(1, outcome.LastStep);
        Assert.Equal(2, logger.At(LogLevel.Warning).Count(m => m.Contains("stdout line")));
        Assert.Equal($"train --config {_dir}/spec.json --out {_dir}/run --json --device cuda:1 training.steps=2",
            File.ReadAllText(Path.Combine(_dir, "args.txt")).Trim());
    }

    [Fact]
    public async Task AFailureKeepsOnlyTheLastStderrLines()
    {
        var command = Script("""
            i=0; while [ $i -lt 500 ]; do echo "progress $i" >&2; i=$((i+1)); done
            echo "error: invalid configuration: model.moe.top_k: 9 exceeds moe.num_experts (8)" >&2
            exit 2
            """);
        await using var job = TrainingJob.Start(command, new TrainingJobOptions { StderrTailLines = 20 });
        var (_, outcome) = await JobRecorder.RecordAsync(job);

        Assert.Equal((JobOutcomeKind.Failed, 2), (outcome.Kind, outcome.ExitCode));
        Assert.Equal(20, outcome.StderrTail.Count);
        Assert.Equal("progress 481", outcome.StderrTail[0]);
        Assert.Equal("error: invalid configuration: model.moe.top_k: 9 exceeds moe.num_experts (8)", Assert.Single(outcome.ErrorLines));
    }

    [Fact]
    public async Task DeathBySignalIsKilledAndAnUnaskedExit130IsAnInterruption()
    {
        await using (var job = TrainingJob.Start(Script("kill -9 $$")))
        {
            var (_, outcome) = await JobRecorder.RecordAsync(job);
            Assert.Equal((JobOutcomeKind.Killed, 137, (int?)9), (outcome.Kind, outcome.ExitCode, outcome.Signal));
        }
        await using (var job = TrainingJob.Start(Script("exit 130")))
        {
            var (_, outcome) = await JobRecorder.RecordAsync(job);
            Assert.Equal(JobOutcomeKind.Interrupted, outcome.Kind);
        }
    }

    [Fact]
    public async Task AStopSendsSigtermWhichTheTrainerAnswers()
    {
        // Like the trainer: on SIGTERM, report and exit 130. `exec sleep` would not do: sh waits for its foreground child.
        var command = Script("""
            trap 'echo "SIGTERM: stopping" >&2; exit 130' TERM
            echo '{"type":"start","step":0,"run":"r","device":"cpu","dtype":"Float32","total_steps":2,"tokens_per_step":64}'
            while true; do sleep 0.05; done
            """);
        await using var job = TrainingJob.Start(command);
        await using var reader = job.ReadEventsAsync(Ct).GetAsyncEnumerator(Ct);
        Assert.True(await reader.MoveNextAsync()); // started: the trap is in place
        var outcome = await job.StopAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal((JobOutcomeKind.Cancelled, 130), (outcome.Kind, outcome.ExitCode));
        Assert.Equal(["SIGTERM: stopping"], outcome.StderrTail);
        Assert.True(job.StopRequested);
    }

    [Fact]
    public void AMissingTrainerFailsToStart()
    {
        var command = new TrainerCommand(TrainerExecutable.FromExecutable(Path.Combine(_dir, "no-such-trainer")),
            Path.Combine(_dir, "spec.json"), Path.Combine(_dir, "run"));
        Assert.ThrowsAny<System.ComponentModel.Win32Exception>(() => TrainingJob.Start(command));
    }
}
