using Moe.Platform.Checkpoints;
using Moe.Platform.Tests.Grains;

namespace Moe.Platform.Tests.Registry;

/// <summary>
/// The checkpoint registry on the real stack: its state, the <c>checkpoints</c> rows and the files in the store move
/// together, and a refused request leaves all three as they were.
/// </summary>
public sealed class CheckpointRegistryGrainTests(DatabaseCluster cluster) : IClassFixture<DatabaseCluster>
{
    private ICheckpointRegistryGrain Registry(string runId) => cluster.Client.GetCheckpoints(runId);

    /// <summary>The registry, the table and the store each hold exactly <paramref name="steps"/>.</summary>
    private async Task AssertKeptAsync(string runId, params long[] steps)
    {
        Assert.Equal(steps, (await Registry(runId).ListAsync()).Select(c => c.Step));
        Assert.Equal(steps, await cluster.RowStepsAsync(runId));
        Assert.Equal(steps, await cluster.StoredStepsAsync(runId));
    }

    [Fact]
    public async Task A_run_without_checkpoints_has_no_latest_and_no_steps()
    {
        var registry = Registry(await cluster.NewRunAsync());

        Assert.Null(await registry.LatestAsync());
        Assert.Empty(await registry.ListAsync());
        Assert.Equal("step", (await Assert.ThrowsAsync<PlatformException>(() => registry.GetAsync(100))).Field);
        Assert.Equal("step", (await Assert.ThrowsAsync<PlatformException>(() => registry.PinAsync(100, "model:m/1"))).Field);
        Assert.Equal("step", (await Assert.ThrowsAsync<PlatformException>(() => registry.UnpinAsync(100, "model:m/1"))).Field);
    }

    [Fact]
    public async Task Recording_stores_the_checkpoint_and_its_row()
    {
        var runId = await cluster.NewRunAsync();
        var checkpoint = await cluster.UploadCheckpointAsync(runId, 100, valLoss: 2.5);

        Assert.Empty(await Registry(runId).RecordAsync(checkpoint, keepLast: 2));

        var stored = await Registry(runId).GetAsync(100);
        Assert.Equal((checkpoint.ArtifactPrefix, checkpoint.ManifestSha256, checkpoint.SizeBytes, checkpoint.ValLoss, checkpoint.CreatedAt),
            (stored.ArtifactPrefix, stored.ManifestSha256, stored.SizeBytes, stored.ValLoss, stored.CreatedAt));
        Assert.Empty(stored.PinnedBy);
        Assert.Equal(100, (await Registry(runId).LatestAsync())!.Step);
        var row = Assert.Single(await cluster.CheckpointRowsAsync(runId));
        Assert.Equal((100L, checkpoint.ArtifactPrefix, checkpoint.ManifestSha256, checkpoint.SizeBytes, (double?)2.5, checkpoint.CreatedAt.UtcDateTime),
            (row.Step, row.ArtifactPrefix, row.ManifestSha256, row.SizeBytes, row.ValLoss, row.CreatedAt));
        await AssertKeptAsync(runId, 100);
    }

    [Fact]
    public async Task The_same_step_again_is_a_no_op_and_another_manifest_for_it_is_refused()
    {
        var runId = await cluster.NewRunAsync();
        var checkpoint = await cluster.UploadCheckpointAsync(runId, 100);
        await Registry(runId).RecordAsync(checkpoint, keepLast: 2);
        var rowId = (await cluster.CheckpointRowsAsync(runId)).Single().Id;

        Assert.Empty(await Registry(runId).RecordAsync(checkpoint with { ManifestSha256 = checkpoint.ManifestSha256.ToUpperInvariant() }, keepLast: 2));
        Assert.Equal(rowId, (await cluster.CheckpointRowsAsync(runId)).Single().Id);

        var changed = checkpoint with { ManifestSha256 = new string('a', 64) };
        var error = await Assert.ThrowsAsync<PlatformException>(() => Registry(runId).RecordAsync(changed, keepLast: 2));
        Assert.Equal("step", error.Field);
        Assert.Equal(checkpoint.ManifestSha256, (await Registry(runId).GetAsync(100)).ManifestSha256);
        Assert.Equal(checkpoint.ManifestSha256, (await cluster.CheckpointRowsAsync(runId)).Single().ManifestSha256);
        await AssertKeptAsync(runId, 100);
    }

    [Fact]
    public async Task Retention_keeps_the_last_K_and_the_best_and_deletes_the_rest_from_the_store()
    {
        var runId = await cluster.NewRunAsync();
        // (step, val loss, what that record deletes, what stays) worked by hand for keepLast 2: step 200 stays the best.
        (long Step, double Loss, long[] Deleted, long[] Kept)[] plan =
        [
            (100, 3.0, [], [100]),
            (200, 1.0, [], [100, 200]),
            (300, 2.0, [100], [200, 300]),
            (400, 1.5, [], [200, 300, 400]),
            (500, 1.8, [300], [200, 400, 500]),
        ];
        foreach (var (step, loss, deleted, kept) in plan)
        {
            var checkpoint = await cluster.UploadCheckpointAsync(runId, step, loss);
            Assert.Equal(deleted, await Registry(runId).RecordAsync(checkpoint, keepLast: 2));
            await AssertKeptAsync(runId, kept);
        }
        Assert.Equal(500, (await Registry(runId).LatestAsync())!.Step);
    }

    [Fact]
    public async Task A_pinned_checkpoint_stays_until_its_last_pin_goes_and_another_checkpoint_is_recorded()
    {
        var runId = await cluster.NewRunAsync();
        var registry = Registry(runId);
        await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 100), keepLast: 1);
        await registry.PinAsync(100, "model:b/1");
        await registry.PinAsync(100, "model:a/1");
        var pinned = await registry.PinAsync(100, "model:a/1"); // the same holder again changes nothing
        Assert.Equal(["model:a/1", "model:b/1"], pinned.PinnedBy);

        Assert.Empty(await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 200), keepLast: 1));
        Assert.Equal([200], await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 300), keepLast: 1));
        await AssertKeptAsync(runId, 100, 300);

        await registry.UnpinAsync(100, "model:a/1");
        await registry.UnpinAsync(100, "model:nobody/1"); // not a holder: nothing to do
        Assert.Equal([300], await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 400), keepLast: 1));
        await AssertKeptAsync(runId, 100, 400);

        // Unpinning deletes nothing by itself; the next record applies retention.
        await registry.UnpinAsync(100, "model:b/1");
        Assert.Empty((await registry.GetAsync(100)).PinnedBy);
        await AssertKeptAsync(runId, 100, 400);
        Assert.Equal([100, 400], await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 500), keepLast: 1));
        await AssertKeptAsync(runId, 500);
    }

    [Fact]
    public async Task Invalid_records_are_refused_with_their_field_and_change_nothing()
    {
        var runId = await cluster.NewRunAsync();
        await Registry(runId).RecordAsync(await cluster.UploadCheckpointAsync(runId, 100), keepLast: 1);
        var next = await cluster.UploadCheckpointAsync(runId, 200);

        (CheckpointRecord Record, int KeepLast, string Field)[] cases =
        [
            (next, 0, "keep_last"),
            (next with { RunId = "another-run" }, 1, "run_id"),
            (next with { Step = -1 }, 1, "step"),
            (next with { ArtifactPrefix = $"runs/{runId}/checkpoints/" }, 1, "artifact_prefix"),
            (next with { ArtifactPrefix = $"runs/{runId}/checkpoints/step-00000100" }, 1, "artifact_prefix"),
            (next with { ManifestSha256 = "not-a-hash" }, 1, "manifest_sha256"),
            (next with { SizeBytes = -5 }, 1, "size_bytes"),
        ];
        foreach (var (record, keepLast, field) in cases)
        {
            var error = await Assert.ThrowsAsync<PlatformException>(() => Registry(runId).RecordAsync(record, keepLast));
            Assert.Equal(field, error.Field);
            Assert.Equal([100], (await Registry(runId).ListAsync()).Select(c => c.Step));
            Assert.Equal(new long[] { 100 }, await cluster.RowStepsAsync(runId));
            Assert.Equal(new long[] { 100, 200 }, await cluster.StoredStepsAsync(runId)); // 200 uploaded, never recorded
        }
        Assert.Equal("holder", (await Assert.ThrowsAsync<PlatformException>(() => Registry(runId).PinAsync(100, " "))).Field);
        Assert.Empty((await Registry(runId).GetAsync(100)).PinnedBy);
    }

    [Fact]
    public async Task A_run_without_a_row_is_refused_and_nothing_is_stored()
    {
        var runId = PlatformCluster.NewId("ghost");
        var checkpoint = await cluster.UploadCheckpointAsync(runId, 100);

        var error = await Assert.ThrowsAsync<PlatformException>(() => Registry(runId).RecordAsync(checkpoint, keepLast: 1));

        Assert.Equal("run_id", error.Field);
        Assert.Empty(await Registry(runId).ListAsync());
        await cluster.Cluster.DeactivateAsync(Registry(runId));
        Assert.Empty(await Registry(runId).ListAsync());
        Assert.Empty(await cluster.RowStepsAsync(runId));
        Assert.Equal(new long[] { 100 }, await cluster.StoredStepsAsync(runId)); // the files were never the registry's
    }

    [Fact]
    public async Task Checkpoints_and_pins_survive_deactivation()
    {
        var runId = await cluster.NewRunAsync();
        var registry = Registry(runId);
        await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 100, valLoss: 1.25), keepLast: 3);
        await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 200, valLoss: double.NaN), keepLast: 3);
        await registry.PinAsync(100, "model:m/1");
        var before = await registry.ListAsync();

        await cluster.Cluster.DeactivateAsync(registry);
        var after = await registry.ListAsync();

        Assert.Equal(before.Select(c => c with { PinnedBy = [] }), after.Select(c => c with { PinnedBy = [] }));
        Assert.Equal(["model:m/1"], after[0].PinnedBy);
        Assert.Null(after[1].ValLoss); // a NaN loss is stored as none
        Assert.Null((await cluster.CheckpointRowsAsync(runId))[1].ValLoss);
    }
}
