using Moe.Platform.Metrics;
using System.Security.Cryptography;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Checkpoints;
using Moe.Platform.Worker.Events;
using Moe.Platform.Worker.Jobs;
using Moe.Platform.Worker.Metrics;

namespace Moe.Platform.Worker.Tests;

/// <summary>
/// What a worker keeps of a real run while it trains: checkpoints mirrored into a <see cref="LocalArtifactStore"/>
/// (byte for byte, retention's deletions applied) and metric points in batches.
/// </summary>
public sealed class CompletedRunArtifactsTests(TinyTrainingSetup setup)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CheckpointsAreUploadedAsOnDiskAndRetentionDeletionsLeaveTheStore()
    {
        var command = await setup.CommandAsync("mirrored", steps: 30, checkpointEvery: 5, evalEvery: 10, keepLast: 2);
        var store = new LocalArtifactStore(Path.Combine(setup.Root, "store-mirrored"));
        var uploader = new CheckpointUploader(store, "run-1");
        var batches = new List<IReadOnlyList<MetricPoint>>();
        var uploads = new List<CheckpointUpload>();

        await using (var batcher = new MetricBatcher((batch, _) => { lock (batches) batches.Add(batch); return Task.CompletedTask; },
                         maxPoints: 200, maxDelay: TimeSpan.FromMinutes(1)))
        {
            await using var job = TrainingJob.Start(command);
            var (events, outcome) = await JobRecorder.RecordAsync(job, async e =>
            {
                if (await uploader.HandleAsync(e, Ct) is { } upload) uploads.Add(upload);
                await batcher.AddAsync(e, Ct);
            });
            Assert.Equal(JobOutcomeKind.Completed, outcome.Kind);
            var deleted = events.OfType<CheckpointWritten>().SelectMany(c => c.DeletedSteps).ToList();
            Assert.NotEmpty(deleted);

            var checkpointsOnDisk = Path.Combine(command.RunDirectory, "checkpoints");
            var onDisk = Directory.GetDirectories(checkpointsOnDisk).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(onDisk.Select(n => long.Parse(n!["step-".Length..])), uploader.UploadedSteps);
            Assert.Equal(uploads.Select(u => u.Step).Distinct(), uploads.Select(u => u.Step)); // never twice

            var stored = new List<ArtifactInfo>();
            await foreach (var info in store.ListAsync(CheckpointArtifactKeys.RunCheckpoints("run-1"), Ct)) stored.Add(info);
            var expected = onDisk.SelectMany(name => Directory.GetFiles(Path.Combine(checkpointsOnDisk, name!))
                    .Select(file => (Key: $"runs/run-1/checkpoints/{name}/{Path.GetFileName(file)}", File: file)))
                .OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
            Assert.Equal(expected.Select(f => f.Key), stored.Select(i => i.Key));
            foreach (var (info, file) in stored.Zip(expected.Select(f => f.File)))
            {
                var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(File.OpenRead(file), Ct));
                Assert.Equal(sha, info.Sha256);
                Assert.Equal(sha, Convert.ToHexStringLower(await SHA256.HashDataAsync(File.OpenRead(store.DataPath(info.Key)), Ct)));
            }
            foreach (var step in deleted)
                Assert.DoesNotContain(stored, i => i.Key.StartsWith(CheckpointArtifactKeys.Step("run-1", step) + "/", StringComparison.Ordinal));
        }

        // Batches were cut by count; together they hold every step's metrics once per name.
        Assert.True(batches.Count > 1, $"{batches.Count} batches");
        var points = batches.SelectMany(b => b).ToList();
        Assert.Equal(points.Count, points.Select(p => (p.Name, p.Step)).Distinct().Count());
        foreach (var name in new[] { "loss", "lm_loss", "aux_loss", "lr", "grad_norm", "tokens_per_s", "router.0.max_over_mean",
                     "router.1.drop_fraction", "router.1.entropy", "router.0.load.0", "router.1.load.3" })
            Assert.Equal(Enumerable.Range(1, 30).Select(s => (long)s), points.Where(p => p.Name == name).Select(p => p.Step));
        Assert.Equal([5L, 10, 15, 20, 25, 30], points.Where(p => p.Name == "val_loss").Select(p => p.Step));
        Assert.Equal([5L, 10, 15, 20, 25, 30], points.Where(p => p.Name == "val_ppl").Select(p => p.Step));
        Assert.DoesNotContain(points, p => p.Name == "router.0.load.4"); // 4 experts
    }
}
