using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Checkpoints;
using Moe.Platform.Worker.Jobs;
using Moe.Platform.Worker.Tests;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// Chaos: the whole embedded platform (one moe-silo process: control plane, scheduler, worker) is killed with SIGKILL
/// mid-run and started again on the same data directory. The run must finish with one trainer alive at any moment (the
/// orphan dies with its supervisor; the new worker would stop it by its lease), every metric step stored once, no retry
/// spent (it is launched with none), released at the restarted worker's first heartbeat, and its checkpoints intact.
/// </summary>
public sealed class PlatformKilledTests(TinyTrainingSetup data)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const int Steps = 150;

    [Fact]
    public async Task A_platform_killed_mid_run_restarts_and_finishes_the_run_with_one_trainer_and_no_retry_spent()
    {
        var command = await data.CommandAsync("chaos", Steps, checkpointEvery: 10, keepLast: 3); // chaos.json beside tok/ and ds/
        var dataDirectory = Path.Combine(data.Root, "chaos-platform");
        var database = Path.Combine(dataDirectory, "platform.db");
        using var watch = new TrainerCensus(Path.Combine(dataDirectory, "worker", "runs"));

        await using var first = SiloProcess.StartEmbedded(dataDirectory, "launch", "--config", command.SpecPath, "--experiment", "chaos",
            "--max-retries", "0");
        var run = await WaitForRunAsync(database, r => r.LastStep >= 35 || IsEnded(r), first);
        Assert.True(run.Status == nameof(RunStatus.Running), Describe(run, first));
        Assert.Equal(1, watch.Count(run.Id));

        first.KillHard(); // no shutdown, no sign-off; the trainer child is orphaned
        Assert.True(await first.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        var restartedAt = DateTime.UtcNow;
        await using var second = SiloProcess.StartEmbedded(dataDirectory);
        var output = () => first.Output() + "\n--- after the restart ---\n" + second.Output();
        try
        {
            run = await WaitForRunAsync(database, r => IsEnded(r), second, run.Id);
            Assert.True(run.Status == nameof(RunStatus.Succeeded), Describe(run, second));
            Assert.True(watch.MostAtOnce(run.Id) == 1, $"{watch.MostAtOnce(run.Id)} trainers ran at once for {run.Id}\n{output()}");

            // No retry spent, and released at once: at the restarted worker's first heartbeat, not after its timeout.
            Assert.Equal(1, run.Attempt);
            Assert.DoesNotContain(run.Transitions, t => t.To is nameof(RunStatus.Retrying) or nameof(RunStatus.Failed));
            var released = Assert.Single(run.Transitions, t => t is { From: nameof(RunStatus.Running), To: nameof(RunStatus.Queued) });
            Assert.Contains("restarted", released.Reason);
            Assert.True(released.At - restartedAt < TimeSpan.FromSeconds(15), $"released {released.At - restartedAt} after the restart");

            await StoredCurves.AssertEachStepOnceAsync(database, run.Id, Steps);
            await AssertCheckpointsIntactAsync(database, Path.Combine(dataDirectory, "artifacts"), run.Id);
        }
        finally
        {
            second.Terminate();
            await second.WaitForExitAsync(TimeSpan.FromMinutes(2));
        }
    }

    private static bool IsEnded(Run run) => Enum.Parse<RunStatus>(run.Status).IsTerminal();

    private static async Task<Run> WaitForRunAsync(string database, Func<Run, bool> done, SiloProcess silo, string? runId = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        Run? run = null;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(database))
            {
                await using var db = new PlatformDb(PlatformDbOptions.Create(null, database));
                try
                {
                    run = await db.Runs.AsNoTracking().Include(r => r.Transitions.OrderBy(t => t.Sequence))
                        .Where(r => runId == null ? r.ExperimentId == "chaos" : r.Id == runId).SingleOrDefaultAsync(Ct);
                }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
                {
                    run = null; // the schema is still being created
                }
                if (run is not null && done(run)) return run;
            }
            await Task.Delay(250, Ct);
        }
        Assert.Fail(run is null ? $"no run appeared\n{silo.Output()}" : Describe(run, silo));
        return run!;
    }

    private static string Describe(Run run, SiloProcess silo) =>
        $"run {run.Id} is {run.Status} at step {run.LastStep}, attempt {run.Attempt}; history:\n"
        + string.Join("\n", run.Transitions.Select(t => $"  {t.At:HH:mm:ss.fff} {t.From} -> {t.To}: {t.Reason}")) + "\n" + silo.Output();

    /// <summary>Every recorded checkpoint is in the store, matches its manifest, and the newest one loads.</summary>
    private async Task AssertCheckpointsIntactAsync(string database, string artifacts, string runId)
    {
        await using var db = new PlatformDb(PlatformDbOptions.Create(null, database));
        var checkpoints = await db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId).OrderBy(c => c.Step).ToListAsync(Ct);
        Assert.Contains(checkpoints, c => c.Step == Steps);
        var store = new LocalArtifactStore(artifacts);
        string newest = "";
        foreach (var checkpoint in checkpoints)
        {
            var folder = Path.Combine(data.Root, "chaos-restored", $"step-{checkpoint.Step}");
            var prefix = checkpoint.ArtifactPrefix.TrimEnd('/') + "/";
            await foreach (var file in store.ListAsync(prefix, Ct)) // each download is checked against its stored SHA-256
                await store.DownloadToFileAsync(file.Key, Path.Combine(folder, file.Key[prefix.Length..]), Ct);
            var manifestPath = Path.Combine(folder, CheckpointManifest.FileName);
            Assert.Equal(checkpoint.ManifestSha256, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(manifestPath, Ct))));
            var manifest = await CheckpointManifest.ReadAsync(folder, Ct);
            Assert.Equal(checkpoint.Step, manifest.Step);
            foreach (var file in manifest.Files)
                Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(folder, file.Name), Ct))));
            newest = folder;
        }
        var sample = await TrainerCli.RunAsync(data.Trainer, ["sample", "--checkpoint", newest, "--prompt", "the", "--max-tokens", "4", "--greedy"],
            data.Root, Ct);
        Assert.True(sample.ExitCode == 0, sample.ToString());
    }

    /// <summary>Counts, every 50 ms, the trainer processes training each run folder under a root (from /proc).</summary>
    private sealed class TrainerCensus : IDisposable
    {
        private readonly string _runs;
        private readonly ConcurrentDictionary<string, int> _most = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampling;

        public TrainerCensus(string runsDirectory)
        {
            _runs = runsDirectory + Path.DirectorySeparatorChar;
            _sampling = Task.Run(SampleAsync);
        }

        public int MostAtOnce(string runId) => _most.GetValueOrDefault(runId);

        public int Count(string runId) => Trainers().Count(r => r == runId);

        private async Task SampleAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var group in Trainers().GroupBy(r => r))
                    _most.AddOrUpdate(group.Key, group.Count(), (_, most) => Math.Max(most, group.Count()));
                await Task.Delay(50);
            }
        }

        /// <summary>The run of each live trainer process whose command line trains a folder under the root.</summary>
        private IEnumerable<string> Trainers()
        {
            foreach (var proc in Directory.EnumerateDirectories("/proc"))
            {
                string[] args;
                try
                {
                    args = File.ReadAllText(Path.Combine(proc, "cmdline")).Split('\0');
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                int train = Array.IndexOf(args, "train"), output = Array.IndexOf(args, "--out");
                if (train < 0 || output < 0 || output + 1 >= args.Length || !args.Any(a => a.EndsWith("moe-trainer.dll"))) continue;
                if (args[output + 1].StartsWith(_runs, StringComparison.Ordinal)) yield return args[output + 1][_runs.Length..];
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _sampling.Wait();
        }
    }
}
