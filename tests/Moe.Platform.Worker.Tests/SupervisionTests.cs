using System.Diagnostics;
using Moe.Platform.Worker.Events;
using Moe.Platform.Worker.Jobs;
using Moe.Supervision;

namespace Moe.Platform.Worker.Tests;

/// <summary>
/// Real trainers under supervision: one process per run folder (the lease), a child that dies with its supervisor
/// (the stdin pipe closing, or being re-parented), and a restarted supervisor stopping what an earlier one left.
/// </summary>
public sealed class SupervisionTests(TinyTrainingSetup setup)
{
    private static readonly TimeSpan ExitWithin = TimeSpan.FromSeconds(15);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_second_trainer_for_a_run_folder_is_refused_while_the_first_lives_and_starts_once_it_is_killed()
    {
        var command = await setup.CommandAsync("leased", steps: 100_000, checkpointEvery: 100_000, evalEvery: 1000);
        await using var first = TrainingJob.Start(command);
        await FirstStepAsync(first);
        Assert.Equal(first.ProcessId, ProcessLease.FindHolder(command.RunDirectory)?.ProcessId);

        await using var second = TrainingJob.Start(command);
        var refused = await second.Completion.WaitAsync(JobRecorder.Timeout, Ct);
        Assert.Equal((JobOutcomeKind.Failed, 4), (refused.Kind, refused.ExitCode));
        Assert.Contains(refused.ErrorLines, l => l.Contains($"pid {first.ProcessId}") && l.Contains("in use by another process"));
        Assert.False(first.HasExited);

        // kill -9 leaves no stale lease: the kernel released the lock with the process.
        first.Kill();
        await first.Completion.WaitAsync(JobRecorder.Timeout, Ct);
        Assert.False(ProcessLease.IsHeld(command.RunDirectory));
        await using var third = TrainingJob.Start(command with { ExtraArguments = ["--stop-after", "2"] });
        Assert.Equal(JobOutcomeKind.Completed, (await third.Completion.WaitAsync(JobRecorder.Timeout, Ct)).Kind);
    }

    [Fact]
    public async Task A_trainer_exits_at_once_without_a_checkpoint_when_its_supervisors_stdin_pipe_closes()
    {
        var command = await setup.CommandAsync("pipe", steps: 100_000, checkpointEvery: 100_000, evalEvery: 1000);
        // Started as TrainingJob starts it (this process named its supervisor), but holding the process ourselves.
        using var process = Process.Start(command.Trainer.CreateStartInfo(command.Arguments(), command.ResolvedWorkingDirectory()))!;
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        await WaitAsync(() => ProcessLease.FindHolder(command.RunDirectory)?.ProcessId == process.Id, "the trainer did not take its lease");

        process.StandardInput.Close(); // what the kernel does to every descriptor of a supervisor killed with SIGKILL

        Assert.True(process.WaitForExit(ExitWithin), "the trainer outlived its supervisor's pipe");
        var errors = await stderr;
        Assert.True(process.ExitCode == SupervisorLink.SupervisorGoneExitCode, $"exit {process.ExitCode}: {errors}");
        Assert.Contains("stdin pipe", errors);
        Assert.DoesNotContain("\"type\":\"checkpoint\"", await stdout);
        Assert.False(ProcessLease.IsHeld(command.RunDirectory));
    }

    [Fact]
    public async Task A_trainer_exits_when_its_supervisor_is_killed_even_while_its_stdin_stays_open()
    {
        var command = await setup.CommandAsync("orphan", steps: 100_000, checkpointEvery: 100_000, evalEvery: 1000);
        // bash is the supervisor; `sleep` holds the trainer's stdin open, so only the parent check can notice bash's death.
        var trainer = string.Join(' ', new[] { command.Trainer.FileName }.Concat(command.Trainer.LeadingArguments).Concat(command.Arguments()).Select(Quote));
        var script = $"sleep 600 | {SupervisorLink.SupervisorPidVariable}=$$ {trainer} > /dev/null 2> {Quote(command.RunDirectory + ".err")}";
        var info = new ProcessStartInfo("bash", ["-c", script]) { WorkingDirectory = command.ResolvedWorkingDirectory() };
        using var supervisor = Process.Start(info)!;
        await WaitAsync(() => ProcessLease.FindHolder(command.RunDirectory) is not null, "the trainer did not take its lease");
        var holder = ProcessLease.FindHolder(command.RunDirectory)!;

        supervisor.Kill(); // SIGKILL to bash alone: its children are re-parented
        await supervisor.WaitForExitAsync(Ct);

        await WaitAsync(() => !holder.IsAlive(), $"the trainer (pid {holder.ProcessId}) kept running as an orphan");
        // Its main thread is gone; the lock goes with the last of its threads, a moment later.
        await WaitAsync(() => !ProcessLease.IsHeld(command.RunDirectory), "the dead trainer's lease was not released");
        Assert.Contains("re-parented", await File.ReadAllTextAsync(command.RunDirectory + ".err", Ct));
        using var sleep = Process.Start("pkill", ["-f", "^sleep 600$"]); // the pipe's writer, now an orphan itself
        await sleep.WaitForExitAsync(Ct);
    }

    [Fact]
    public async Task A_restarted_supervisor_stops_the_orphans_holding_run_folders_by_their_lease_and_leaves_live_supervisors_children()
    {
        // An orphan whose watch failed: its lease names a supervisor that has exited (its stdin is held open here).
        var orphaned = await setup.CommandAsync("sweep-left-behind", steps: 100_000, checkpointEvery: 100_000, evalEvery: 1000);
        using var dead = Process.Start("true")!;
        await dead.WaitForExitAsync(Ct);
        var info = orphaned.Trainer.CreateStartInfo(orphaned.Arguments(), orphaned.ResolvedWorkingDirectory());
        info.Environment[SupervisorLink.SupervisorPidVariable] = dead.Id.ToString();
        using var orphan = Process.Start(info)!;
        var stdout = orphan.StandardOutput.ReadToEndAsync(Ct);
        _ = orphan.StandardError.ReadToEndAsync(Ct);
        // A trainer whose supervisor (this process) lives, in a folder beside it: another app's, not to be touched.
        var kept = await setup.CommandAsync("sweep-supervised", steps: 100_000, checkpointEvery: 100_000, evalEvery: 1000);
        await using var live = TrainingJob.Start(kept);
        await FirstStepAsync(live);
        var metrics = Path.Combine(orphaned.RunDirectory, "metrics.jsonl");
        await WaitAsync(() => File.Exists(metrics) && File.ReadAllText(metrics).Contains("\"type\":\"step\""), "the orphan did not train");
        Assert.True(ProcessLease.FindHolder(orphaned.RunDirectory) is { } holder && holder.ProcessId == orphan.Id && holder.IsOrphan());
        var logger = new ListLogger();

        var stopped = await OrphanedProcesses.StopOrphansUnderAsync(Path.GetDirectoryName(orphaned.RunDirectory)!, TimeSpan.FromSeconds(60),
            logger, Ct);

        Assert.True(stopped == 1, string.Join("\n", logger.Entries.Select(e => e.Message)));
        Assert.True(orphan.WaitForExit(TimeSpan.FromSeconds(10))); // gone (its lease is free); reaped a moment later
        Assert.Equal(130, orphan.ExitCode); // SIGTERM first: it checkpointed and stopped
        Assert.Contains("\"type\":\"checkpoint\"", await stdout);
        Assert.False(ProcessLease.IsHeld(orphaned.RunDirectory));
        Assert.Contains(logger.Entries.Select(e => e.Message), m => m.Contains($"pid {orphan.Id}"));
        Assert.False(live.HasExited);
        Assert.Equal(live.ProcessId, ProcessLease.FindHolder(kept.RunDirectory)?.ProcessId);
        Assert.Equal(0, await OrphanedProcesses.StopOrphansUnderAsync(Path.GetDirectoryName(orphaned.RunDirectory)!, TimeSpan.FromSeconds(60), logger, Ct));
    }

    [Fact]
    public async Task A_one_shot_command_leases_the_folder_its_supervisor_names_and_names_its_supervisor()
    {
        var folder = Path.Combine(setup.Root, "one-shot-" + Guid.NewGuid().ToString("N"));
        var result = await TrainerCli.RunAsync(setup.Trainer, ["devices", "--json"], setup.Root, Ct, leaseFolder: folder);

        Assert.True(result.ExitCode == 0, result.ToString());
        // The holder has exited (the lock is gone) but its lease file says who held it, started by whom.
        Assert.False(ProcessLease.IsHeld(folder));
        var holder = LeaseHolder.Parse(await File.ReadAllTextAsync(Path.Combine(folder, ProcessLease.FileName), Ct));
        Assert.StartsWith("moe-trainer devices", holder?.Description);
        Assert.Equal(Environment.ProcessId, holder?.SupervisorPid);
        Assert.False(holder!.IsOrphan()); // its supervisor (this process) lives
    }

    [Fact]
    public void A_lease_names_its_holder_refuses_a_second_taker_and_frees_the_folder_when_released()
    {
        var folder = Path.Combine(setup.Root, "lease-" + Guid.NewGuid().ToString("N"));
        using (var lease = ProcessLease.Acquire(folder, "test holder"))
        {
            Assert.True(ProcessLease.IsHeld(folder));
            var holder = ProcessLease.FindHolder(folder);
            Assert.Equal((Environment.ProcessId, "test holder"), (holder?.ProcessId, holder?.Description));
            Assert.Null(ProcessLease.TryAcquire(folder, "second")); // flock conflicts between descriptors, even in one process
            var refused = Assert.Throws<LeaseHeldException>(() => ProcessLease.Acquire(folder, "second"));
            Assert.Contains($"pid {Environment.ProcessId} (test holder)", refused.Message);
        }
        Assert.False(ProcessLease.IsHeld(folder));

        // A lease file left by a process that is gone names nobody, and the folder is free.
        File.WriteAllText(Path.Combine(folder, ProcessLease.FileName),
            new LeaseHolder(int.MaxValue - 1, 1, "long gone", DateTimeOffset.UtcNow).ToJson());
        Assert.Null(ProcessLease.FindHolder(folder));
        using var taken = ProcessLease.Acquire(folder, "next");
        Assert.Equal("next", ProcessLease.FindHolder(folder)?.Description);
    }

    private static async Task FirstStepAsync(TrainingJob job)
    {
        using var timeout = new CancellationTokenSource(JobRecorder.Timeout);
        await foreach (var e in job.ReadEventsAsync(timeout.Token))
            if (e is TrainingStep) return;
        Assert.Fail($"the trainer ended before its first step: {await job.Completion}");
    }

    private static async Task WaitAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + JobRecorder.Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(failure);
            await Task.Delay(50, Ct);
        }
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
