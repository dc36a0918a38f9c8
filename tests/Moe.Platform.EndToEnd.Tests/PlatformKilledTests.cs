using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
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
        var output = new StringBuilder();
        using var watch = new TrainerCensus(Path.Combine(dataDirectory, "worker", "runs"));

        using var first = StartSilo(["launch", "--config", command.SpecPath, "--experiment", "chaos", "--max-retries", "0"], dataDirectory, output);
        var run = await WaitForRunAsync(database, r => r.LastStep >= 35 || IsEnded(r), output);
        Assert.True(run.Status == nameof(RunStatus.Running), Describe(run, output));
        Assert.Equal(1, watch.Count(run.Id));

        first.Kill(); // SIGKILL: no shutdown, no sign-off; the trainer child is orphaned
        await first.WaitForExitAsync(Ct);
        var restartedAt = DateTime.UtcNow;
        using var second = StartSilo([], dataDirectory, output);
        try
        {
            run = await WaitForRunAsync(database, r => IsEnded(r), output, run.Id);
            Assert.True(run.Status == nameof(RunStatus.Succeeded), Describe(run, output));
            Assert.True(watch.MostAtOnce(run.Id) == 1, $"{watch.MostAtOnce(run.Id)} trainers ran at once for {run.Id}\n{output}");

            // No retry spent, and released at once: at the restarted worker's first heartbeat, not after its timeout.
            Assert.Equal(1, run.Attempt);
            Assert.DoesNotContain(run.Transitions, t => t.To is nameof(RunStatus.Retrying) or nameof(RunStatus.Failed));
            var released = Assert.Single(run.Transitions, t => t is { From: nameof(RunStatus.Running), To: nameof(RunStatus.Queued) });
            Assert.Contains("restarted", released.Reason);
            Assert.True(released.At - restartedAt < TimeSpan.FromSeconds(15), $"released {released.At - restartedAt} after the restart");

            await AssertEachStepOnceAsync(database, run.Id);
            await AssertCheckpointsIntactAsync(database, Path.Combine(dataDirectory, "artifacts"), run.Id);
        }
        finally
        {
            second.Terminate();
            await second.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromMinutes(2), Ct);
        }
    }

    private static bool IsEnded(Run run) => Enum.Parse<RunStatus>(run.Status).IsTerminal();

    private static SiloHandle StartSilo(string[] arguments, string dataDirectory, StringBuilder output)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "moe-silo.dll") }.Concat(arguments).Concat(
                 [
                     "--data-dir", dataDirectory, "--silo-port", FreePort.Next().ToString(), "--gateway-port", FreePort.Next().ToString(),
                     "Worker:HeartbeatInterval=00:00:00.500", "Worker:MetricFlushInterval=00:00:00.500",
                 ]))
            info.ArgumentList.Add(argument);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new SiloHandle(process);
    }

    private static async Task<Run> WaitForRunAsync(string database, Func<Run, bool> done, StringBuilder output, string? runId = null)
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
        Assert.Fail(run is null ? $"no run appeared\n{output}" : Describe(run, output));
        return run!;
    }

    private static string Describe(Run run, StringBuilder output)
    {
        lock (output)
            return $"run {run.Id} is {run.Status} at step {run.LastStep}, attempt {run.Attempt}; history:\n"
                   + string.Join("\n", run.Transitions.Select(t => $"  {t.At:HH:mm:ss.fff} {t.From} -> {t.To}: {t.Reason}")) + "\n" + output;
    }

    private static async Task AssertEachStepOnceAsync(string database, string runId)
    {
        await using var db = new PlatformDb(PlatformDbOptions.Create(null, database));
        var loss = await new MetricStore(db).QueryAsync(runId, "loss", null, null, 1000, Ct);
        Assert.Equal(Enumerable.Range(1, Steps).Select(s => (long)s), loss.Buckets.Select(b => b.FirstStep));
        Assert.All(loss.Buckets, b => Assert.Equal(1, b.Count));
    }

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

    private sealed class SiloHandle(Process process) : IDisposable
    {
        public void Kill() => process.Kill(); // SIGKILL, this process only
        public void Terminate() => Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
        public Task WaitForExitAsync(CancellationToken cancellationToken) => process.WaitForExitAsync(cancellationToken);

        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
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
