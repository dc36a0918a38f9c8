using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Moe.Platform.Experiments;
using Moe.Platform.Grains.Hosting;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Tests;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// A cluster on Redis clustering: a control silo (this process) and two worker silos (moe-silo processes). The worker
/// running a run is lost mid-run, hard (kill -9: its heartbeats stop) or gracefully (SIGTERM: it checkpoints and hands
/// the run back); either way the run finishes on the other worker, resuming from the checkpoint in the shared store.
/// </summary>
public sealed class WorkerSiloLossTests(TinyTrainingSetup data, RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_killed_worker_silo_is_given_up_and_its_run_finishes_on_the_other_worker()
    {
        var (run, workers, store) = await RunAndLoseItsWorkerAsync("hard", worker => worker.KillHard());
        Assert.True(run.Status == RunStatus.Succeeded, Describe(run, workers));
        // Found by the missed heartbeats; the worker's loss is not the trainer's failure, so no retry is used.
        var lost = Assert.Single(run.History, t => t is { From: RunStatus.Running, To: RunStatus.Queued });
        Assert.Contains("is gone", lost.Reason);
        Assert.DoesNotContain(run.History, t => t.To == RunStatus.Retrying);
        Assert.Equal(1, run.Attempt);
        await StoredCurves.AssertEachStepOnceAsync(store, run.RunId, Steps);
        Assert.Equal(Steps, run.LastStep);
    }

    [Fact]
    public async Task A_stopped_worker_silo_hands_its_run_back_and_it_finishes_on_the_other_worker_without_a_retry()
    {
        var (run, workers, store) = await RunAndLoseItsWorkerAsync("soft", worker => worker.Terminate());
        Assert.True(run.Status == RunStatus.Succeeded, Describe(run, workers));
        Assert.DoesNotContain(run.History, t => t.To == RunStatus.Retrying);
        Assert.Contains(run.History, t => t.To == RunStatus.Resuming && t.Reason.Contains("shutting down"));
        Assert.Equal(1, run.Attempt);
        await StoredCurves.AssertEachStepOnceAsync(store, run.RunId, Steps);
        Assert.Equal(Steps, run.LastStep);
    }

    private const int Steps = 150;

    private async Task<(RunSnapshot Run, SiloProcess[] Workers, string Database)> RunAndLoseItsWorkerAsync(
        string name, Action<SiloProcess> lose)
    {
        string root = Directory.CreateTempSubdirectory($"moe-cluster-{name}-").FullName;
        string artifacts = Path.Combine(root, "artifacts");
        var options = new PlatformSiloOptions
        {
            Roles = PlatformSiloOptions.ControlRole, Redis = redis.ConnectionString, DataDirectory = Path.Combine(root, "control"),
            ArtifactsDirectory = artifacts, SiloPort = FreePort.Next(), GatewayPort = FreePort.Next(), ClusterId = "e2e",
        };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.ClearProviders();
        builder.AddPlatformSilo(options);
        builder.Services.Configure<SchedulerOptions>(o => (o.PassInterval, o.HeartbeatTimeout) = (TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5)));
        using var control = builder.Build();
        await control.StartAsync(Ct);
        SiloProcess[] workers =
        [
            SiloProcess.StartWorker($"{name}-w1", redis.ConnectionString, Path.Combine(root, "w1"), artifacts),
            SiloProcess.StartWorker($"{name}-w2", redis.ConnectionString, Path.Combine(root, "w2"), artifacts),
        ];
        try
        {
            var grains = control.Services.GetRequiredService<IGrainFactory>();
            await WaitAsync(async () => (await grains.GetScheduler().GetAsync()).Workers.Length == 2, TimeSpan.FromMinutes(2),
                () => "both workers did not register:\n" + string.Join("\n---\n", workers.Select(w => w.Output())));

            var experiment = PlatformIds.New("exp");
            await grains.GetExperiment(experiment).CreateAsync(new ExperimentSpec($"cluster {experiment}"));
            var runId = PlatformIds.New("run");
            await grains.GetRun(runId).CreateAsync(TrainingThroughTheGrainsTests.Spec(data, experiment, name, Steps, checkpointEvery: 10, keepLast: 3));

            var running = await WaitForRunAsync(grains, runId, r => r.LastStep >= 25 || r.Status.IsTerminal(), workers);
            Assert.Equal(RunStatus.Running, running.Status);
            var first = workers.Single(w => w.WorkerId == running.WorkerId);
            lose(first);
            Assert.True(await first.WaitForExitAsync(TimeSpan.FromMinutes(1)), "the lost worker did not exit:\n" + first.Output());

            var run = await WaitForRunAsync(grains, runId, r => r.Status.IsTerminal(), workers);
            Assert.NotEqual(first.WorkerId, run.History.Last(t => t.To == RunStatus.Scheduled).Reason.Split(' ').Last());
            await control.StopAsync(CancellationToken.None);
            return (run, workers, Path.Combine(options.DataDirectory, "platform.db"));
        }
        finally
        {
            foreach (var worker in workers) await worker.DisposeAsync();
        }
    }

    private static async Task<RunSnapshot> WaitForRunAsync(IGrainFactory grains, string runId, Func<RunSnapshot, bool> done, SiloProcess[] workers)
    {
        RunSnapshot? run = null;
        await WaitAsync(async () => done(run = await grains.GetRun(runId).GetAsync()), TimeSpan.FromMinutes(3),
            () => Describe(run!, workers));
        return run!;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(failure());
            await Task.Delay(200, Ct);
        }
    }

    private static string Describe(RunSnapshot run, SiloProcess[] workers) =>
        $"run is {run.Status}; history:\n" + string.Join("\n", run.History.Select(t => $"  {t.From} -> {t.To}: {t.Reason}"))
        + "\n" + string.Join("\n", workers.Select(w => $"--- {w.WorkerId} ---\n{w.Output()}"));
}
