using Microsoft.EntityFrameworkCore;
using Moe.Platform.Metrics;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Tests.Artifacts;
using Moe.Platform.Tests.Metadata;
using Moe.Platform.Worker.Tests;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// A small training run launched through the grains runs as a real trainer child process: its metrics land in the
/// database, its checkpoints in the artifact store (each implementation by a derived class) and the registry.
/// </summary>
public abstract class TrainingThroughTheGrainsTests(TinyTrainingSetup data)
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<PlatformStack> StartStackAsync();

    internal static RunSpec Spec(TinyTrainingSetup data, string experiment, string name, int steps, int checkpointEvery, int keepLast = 2,
        int maxRetries = 2) =>
        new(experiment, name, 0, new ResourceRequest(0, 0, 1),
            TinyTrainingSetup.Spec(name, steps, checkpointEvery, evalEvery: 10, keepLast,
                Path.Combine(data.Root, "tok", "tokenizer.json"), Path.Combine(data.Root, "ds")).ToJsonString(),
            maxRetries);

    [Fact]
    public async Task A_run_launched_through_the_grains_trains_and_leaves_metrics_and_checkpoints()
    {
        await using var stack = await StartStackAsync();
        var experiment = await stack.NewExperimentAsync("e2e");
        var runId = PlatformIds.New("run");
        const int steps = 30;

        await stack.Client.GetRun(runId).CreateAsync(Spec(data, experiment, "tiny", steps, checkpointEvery: 10));
        var run = await stack.WaitForAsync(runId, r => r.Status.IsTerminal(), TimeSpan.FromMinutes(3));

        Assert.True(run.Status == RunStatus.Succeeded, string.Join("\n", run.History.Select(t => $"{t.To}: {t.Reason}")));
        Assert.Equal([RunStatus.Scheduled, RunStatus.Running, RunStatus.Succeeded], run.History.Select(t => t.To));
        Assert.Equal("local", run.History[0].Reason.Split(' ').Last());
        Assert.Equal(steps, run.LastStep);
        Assert.NotNull(run.BestValLoss);

        // Metrics: every step once, in the database, and the best validation loss matches the stored curve.
        await using (var db = stack.NewContext())
        {
            var store = new MetricStore(db);
            var loss = await store.QueryAsync(runId, "loss", null, null, 1000, Ct);
            Assert.False(loss.Downsampled);
            Assert.Equal(Enumerable.Range(1, steps).Select(s => (long)s), loss.Buckets.Select(b => b.FirstStep));
            var val = await store.QueryAsync(runId, "val_loss", null, null, 1000, Ct);
            Assert.Equal([10L, 20L, 30L], val.Buckets.Select(b => b.FirstStep));
            Assert.Equal(val.Buckets.Min(b => b.Last), run.BestValLoss!.Value, 9);
            Assert.Contains("router.0.entropy", await store.ListNamesAsync(runId, Ct));

            var row = await db.Runs.Include(r => r.Transitions).SingleAsync(r => r.Id == runId, Ct);
            Assert.Equal(("Succeeded", experiment, steps), (row.Status, row.ExperimentId, row.LastStep ?? 0));
            Assert.Equal(["Scheduled", "Running", "Succeeded"], row.Transitions.OrderBy(t => t.Sequence).Select(t => t.To));
            Assert.NotNull(row.StartedAt);
            Assert.NotNull(row.EndedAt);
        }

        // Checkpoints: the registry kept the last two and the best; their files are complete in the store.
        var checkpoints = await stack.Client.GetCheckpoints(runId).ListAsync();
        Assert.Contains(checkpoints, c => c.Step == steps);
        Assert.InRange(checkpoints.Count, 2, 3);
        foreach (var checkpoint in checkpoints)
        {
            var files = await stack.Artifacts.ListAsync(checkpoint.ArtifactPrefix + "/", Ct).ToListAsync(Ct);
            Assert.Contains(files, f => f.Key.EndsWith("/model.safetensors"));
            var manifest = Assert.Single(files, f => f.Key.EndsWith("/manifest.json"));
            Assert.Equal(checkpoint.ManifestSha256, manifest.Sha256);
        }
        await using (var db = stack.NewContext())
            Assert.Equal(checkpoints.Select(c => c.Step).Order(), await db.Checkpoints.Where(c => c.RunId == runId).Select(c => c.Step).OrderBy(s => s).ToListAsync(Ct));

        // The experiment no longer counts it as active.
        Assert.Empty((await stack.Client.GetExperiment(experiment).GetAsync()).ActiveRunIds);
    }
}

public sealed class LocalStoreTrainingTests(TinyTrainingSetup data) : TrainingThroughTheGrainsTests(data)
{
    protected override Task<PlatformStack> StartStackAsync() => PlatformStack.StartAsync();
}

public sealed class AzureBlobTrainingTests(TinyTrainingSetup data, AzuriteFixture azurite)
    : TrainingThroughTheGrainsTests(data), IClassFixture<AzuriteFixture>
{
    protected override Task<PlatformStack> StartStackAsync() =>
        PlatformStack.StartAsync(_ => new AzureBlobArtifactStore(azurite.ConnectionString, $"e2e-{Guid.NewGuid():N}"));
}

/// <summary>The same run with the metadata (grain state, runs, metrics, checkpoints) in a real PostgreSQL.</summary>
public sealed class PostgresTrainingTests(TinyTrainingSetup data, PostgresFixture postgres)
    : TrainingThroughTheGrainsTests(data), IClassFixture<PostgresFixture>
{
    protected override async Task<PlatformStack> StartStackAsync() =>
        await PlatformStack.StartAsync(postgres: await postgres.CreateDatabaseAsync(Ct));
}
