using Microsoft.EntityFrameworkCore;
using Moe.Platform.Checkpoints;
using Moe.Platform.Models;
using Moe.Platform.Tests.Grains;
using Orleans.Storage;

namespace Moe.Platform.Tests.Registry;

/// <summary>
/// The model registry on the real stack: versions pin their checkpoints in the run's registry, rows land in
/// <c>model_versions</c> and <c>model_aliases</c>, and a refused request changes neither the grain nor the tables.
/// </summary>
public sealed class ModelRegistryGrainTests(DatabaseCluster cluster) : IClassFixture<DatabaseCluster>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private IModelRegistryGrain Model(string name) => cluster.Client.GetModel(name);

    private ICheckpointRegistryGrain Checkpoints(string runId) => cluster.Client.GetCheckpoints(runId);

    private static string NewModelName() => PlatformCluster.NewId("model");

    /// <summary>A run with checkpoints recorded at <paramref name="steps"/> (nothing deleted: keepLast covers them all).</summary>
    private async Task<string> RunWithCheckpointsAsync(params long[] steps)
    {
        var runId = await cluster.NewRunAsync();
        foreach (var step in steps)
            await Checkpoints(runId).RecordAsync(await cluster.UploadCheckpointAsync(runId, step, valLoss: 3.0), keepLast: steps.Length);
        return runId;
    }

    private async Task<string[]> PinsAsync(string runId, long step) => [.. (await Checkpoints(runId).GetAsync(step)).PinnedBy];

    [Fact]
    public async Task Registering_versions_pins_their_checkpoints_and_writes_their_rows()
    {
        var runId = await RunWithCheckpointsAsync(100, 200);
        var name = NewModelName();

        var v1 = await Model(name).RegisterVersionAsync(runId, 100, "  first  ");
        var v2 = await Model(name).RegisterVersionAsync(runId, 200, null);

        var checkpoint = await Checkpoints(runId).GetAsync(100);
        Assert.Equal((name, 1, runId, 100L, checkpoint.ArtifactPrefix, checkpoint.ManifestSha256, "first"),
            (v1.ModelName, v1.Version, v1.RunId, v1.Step, v1.ArtifactPrefix, v1.ManifestSha256, v1.Description));
        Assert.Equal(2, v2.Version);
        Assert.Equal([$"model:{name}/1"], await PinsAsync(runId, 100));
        Assert.Equal([$"model:{name}/2"], await PinsAsync(runId, 200));
        Assert.Equal([1, 2], (await Model(name).GetAsync()).Versions.Select(v => v.Version));

        var rows = await cluster.VersionRowsAsync(name);
        Assert.Equal([(1, 100L, (string?)"first"), (2, 200L, null)], rows.Select(r => (r.Version, r.Checkpoint!.Step, r.Description)));
        Assert.All(rows, r => Assert.Equal(runId, r.Checkpoint!.RunId));
    }

    [Fact]
    public async Task Registering_what_is_not_there_is_refused_and_changes_nothing()
    {
        var runId = await RunWithCheckpointsAsync(100);
        var name = NewModelName();

        (Func<Task> Call, string Field)[] cases =
        [
            (() => Model(name).RegisterVersionAsync(runId, 150, null), "step"),
            (() => Model(name).RegisterVersionAsync(PlatformCluster.NewId("nothing"), 100, null), "step"),
            (() => Model(name).RegisterVersionAsync("Not A Run", 100, null), "run_id"),
            (() => Model("Bad Name!").RegisterVersionAsync(runId, 100, null), "model"),
            (() => Model("Bad Name!").GetAsync(), "model"),
        ];
        foreach (var (call, field) in cases)
            Assert.Equal(field, (await Assert.ThrowsAsync<PlatformException>(call)).Field);

        Assert.Empty((await Model(name).GetAsync()).Versions);
        Assert.Empty(await PinsAsync(runId, 100));
        Assert.Empty(await cluster.VersionRowsAsync(name));
        Assert.Equal(1, (await Model(name).RegisterVersionAsync(runId, 100, null)).Version);
    }

    [Fact]
    public async Task A_version_whose_save_fails_gives_its_pin_back()
    {
        var runId = await RunWithCheckpointsAsync(100, 200);
        var name = NewModelName();
        await Model(name).RegisterVersionAsync(runId, 100, null);
        // Another writer's change to the model's state row: the grain's next save conflicts.
        await using (var db = cluster.NewContext())
            await db.GrainStates.Where(g => g.GrainType == "modelregistry/model" && g.GrainId == name)
                .ExecuteUpdateAsync(s => s.SetProperty(g => g.ETag, "someone-else"), Cancel);

        await Assert.ThrowsAsync<InconsistentStateException>(() => Model(name).RegisterVersionAsync(runId, 200, null));

        Assert.Empty(await PinsAsync(runId, 200));
        Assert.Equal([$"model:{name}/1"], await PinsAsync(runId, 100));
        Assert.Equal([1], (await cluster.VersionRowsAsync(name)).Select(r => r.Version));
    }

    [Fact]
    public async Task Aliases_point_at_versions_move_and_resolve()
    {
        var runId = await RunWithCheckpointsAsync(100, 200);
        var name = NewModelName();
        await Model(name).RegisterVersionAsync(runId, 100, null);
        await Model(name).RegisterVersionAsync(runId, 200, null);

        var model = await Model(name).SetAliasAsync("production", 1);
        await Model(name).SetAliasAsync("staging", 2);
        Assert.Equal(1, model.Aliases["production"]);
        Assert.Equal(new Dictionary<string, int> { ["production"] = 1, ["staging"] = 2 }, await cluster.AliasRowsAsync(name));
        Assert.Equal("1:production", Resolved(await Model(name).ResolveAsync("production")));
        Assert.Equal("2:staging", Resolved(await Model(name).ResolveAsync("2")));

        model = await Model(name).SetAliasAsync("production", 2);
        Assert.Equal(["production", "staging"], model.Versions.Single(v => v.Version == 2).Aliases);
        Assert.Empty(model.Versions.Single(v => v.Version == 1).Aliases);
        Assert.Equal(new Dictionary<string, int> { ["production"] = 2, ["staging"] = 2 }, await cluster.AliasRowsAsync(name));

        model = await Model(name).RemoveAliasAsync("staging");
        Assert.Equal(["production"], model.Aliases.Keys);
        Assert.Equal(new Dictionary<string, int> { ["production"] = 2 }, await cluster.AliasRowsAsync(name));
        Assert.Equal("version", (await Assert.ThrowsAsync<PlatformException>(() => Model(name).ResolveAsync("staging"))).Field);
        Assert.Equal("version", (await Assert.ThrowsAsync<PlatformException>(() => Model(name).ResolveAsync("7"))).Field);

        static string Resolved(ModelVersionSnapshot v) => $"{v.Version}:{string.Join(",", v.Aliases)}";
    }

    [Fact]
    public async Task Alias_errors_name_their_field_and_change_nothing()
    {
        var runId = await RunWithCheckpointsAsync(100);
        var name = NewModelName();
        await Model(name).RegisterVersionAsync(runId, 100, null);
        await Model(name).SetAliasAsync("production", 1);

        (Func<Task> Call, string Field)[] cases =
        [
            (() => Model(name).SetAliasAsync("Prod!", 1), "alias"),
            (() => Model(name).SetAliasAsync("7", 1), "alias"), // would read as a version number
            (() => Model(name).SetAliasAsync("staging", 9), "version"),
            (() => Model(name).SetAliasAsync("production", 9), "version"),
            (() => Model(name).RemoveAliasAsync("staging"), "alias"),
        ];
        foreach (var (call, field) in cases)
            Assert.Equal(field, (await Assert.ThrowsAsync<PlatformException>(call)).Field);

        Assert.Equal(new Dictionary<string, int> { ["production"] = 1 }, (await Model(name).GetAsync()).Aliases);
        Assert.Equal(new Dictionary<string, int> { ["production"] = 1 }, await cluster.AliasRowsAsync(name));
    }

    [Fact]
    public async Task Deleting_a_version_is_refused_while_aliased_then_removes_it_and_unpins()
    {
        var runId = await RunWithCheckpointsAsync(100, 200);
        var name = NewModelName();
        await Model(name).RegisterVersionAsync(runId, 100, null);
        await Model(name).SetAliasAsync("production", 1);

        var refused = await Assert.ThrowsAsync<PlatformException>(() => Model(name).DeleteVersionAsync(1));
        Assert.Equal("version", refused.Field);
        Assert.Contains("production", refused.Problem);
        Assert.Equal([1], (await cluster.VersionRowsAsync(name)).Select(r => r.Version));
        Assert.Equal([$"model:{name}/1"], await PinsAsync(runId, 100));

        await Model(name).RemoveAliasAsync("production");
        var model = await Model(name).DeleteVersionAsync(1);

        Assert.Empty(model.Versions);
        Assert.Empty(await cluster.VersionRowsAsync(name));
        Assert.Empty(await PinsAsync(runId, 100));
        Assert.Equal("version", (await Assert.ThrowsAsync<PlatformException>(() => Model(name).DeleteVersionAsync(1))).Field);
        // Numbers are never reused: version 1's holder stays unique.
        Assert.Equal(2, (await Model(name).RegisterVersionAsync(runId, 200, null)).Version);
    }

    [Fact]
    public async Task A_checkpoint_behind_a_model_version_is_never_deleted()
    {
        var runId = await cluster.NewRunAsync();
        var registry = Checkpoints(runId);
        await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 100, valLoss: 5.0), keepLast: 2);
        var name = NewModelName();
        await Model(name).RegisterVersionAsync(runId, 100, "early");

        // Later checkpoints are all better and newer: only the pin keeps step 100.
        await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 200, valLoss: 4.8), keepLast: 2);
        for (long step = 300; step <= 1000; step += 100)
        {
            await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, step, valLoss: 5.0 - step / 1000.0), keepLast: 2);
            Assert.Equal([100, step - 100, step], (await registry.ListAsync()).Select(c => c.Step));
            Assert.Equal([100, step - 100, step], await cluster.RowStepsAsync(runId));
            Assert.Equal([100, step - 100, step], await cluster.StoredStepsAsync(runId));
        }
        Assert.Equal(100, (await cluster.VersionRowsAsync(name)).Single().Checkpoint!.Step);

        await Model(name).DeleteVersionAsync(1);
        Assert.Equal(new long[] { 100, 900, 1000 }, await cluster.StoredStepsAsync(runId)); // unpinning deletes nothing by itself

        Assert.Equal([100, 900], await registry.RecordAsync(await cluster.UploadCheckpointAsync(runId, 1100, valLoss: 3.0), keepLast: 2));
        Assert.Equal([1000, 1100], (await registry.ListAsync()).Select(c => c.Step));
        Assert.Equal(new long[] { 1000, 1100 }, await cluster.RowStepsAsync(runId));
        Assert.Equal(new long[] { 1000, 1100 }, await cluster.StoredStepsAsync(runId));
    }

    [Fact]
    public async Task Versions_and_aliases_survive_deactivation()
    {
        var runId = await RunWithCheckpointsAsync(100, 200);
        var name = NewModelName();
        await Model(name).RegisterVersionAsync(runId, 100, "one");
        await Model(name).RegisterVersionAsync(runId, 200, "two");
        await Model(name).SetAliasAsync("production", 2);
        await Model(name).DeleteVersionAsync(1);
        var before = await Model(name).GetAsync();

        await cluster.Cluster.DeactivateAsync(Model(name));
        var after = await Model(name).GetAsync();

        var version = Assert.Single(after.Versions);
        Assert.Equal(before.Versions[0] with { Aliases = [] }, version with { Aliases = [] });
        Assert.Equal(["production"], version.Aliases);
        Assert.Equal(new Dictionary<string, int> { ["production"] = 2 }, after.Aliases);
        Assert.Equal(3, (await Model(name).RegisterVersionAsync(runId, 100, null)).Version);
    }
}
