using Moe.Platform.Checkpoints;
using Moe.Platform.Grains.Checkpoints;
using Moe.Platform.Grains.Models;

namespace Moe.Platform.Tests.Registry;

/// <summary>The registries' plain logic, without Orleans: what a change does, and that a refused one touches nothing.</summary>
public sealed class CatalogTests
{
    private static readonly DateTimeOffset Now = RegistryTestData.At;

    private static CheckpointRecord Checkpoint(long step, double? loss = null, char manifest = 'a') =>
        new("run-1", step, $"runs/run-1/checkpoints/step-{step:D8}", new string(manifest, 64), 10, loss, default, []);

    [Fact]
    public void Recording_applies_retention_and_a_repeat_is_a_no_op()
    {
        var catalog = new CheckpointCatalog("run-1", new CheckpointRegistryState());
        catalog.Record(Checkpoint(1, 1.0), keepLast: 1, Now);
        catalog.Record(Checkpoint(2, 2.0), keepLast: 1, Now);
        var outcome = catalog.Record(Checkpoint(3, 3.0), keepLast: 1, Now);

        Assert.True(outcome.Added);
        Assert.Equal([2], outcome.Deleted.Select(c => c.Step));
        Assert.Equal([1, 3], catalog.Checkpoints.Select(c => c.Step));
        Assert.Equal(Now, catalog.Get(3).CreatedAt); // none given: the time it was recorded
        Assert.False(catalog.Record(Checkpoint(3, 3.0), keepLast: 1, Now).Added);
    }

    [Fact]
    public void A_refused_change_leaves_the_restored_state_as_it_was()
    {
        var state = new CheckpointRegistryState { Checkpoints = [Checkpoint(1)] };
        var catalog = new CheckpointCatalog("run-1", state);
        catalog.Pin(1, "model:m/1");

        Assert.Equal("step", Assert.Throws<PlatformException>(() => catalog.Record(Checkpoint(1, manifest: 'b'), 1, Now)).Field);
        Assert.Empty(state.Checkpoints[0].PinnedBy); // the catalog works on its own copy
        Assert.Equal(["model:m/1"], catalog.ToState().Checkpoints[0].PinnedBy);
    }

    [Fact]
    public void A_model_resolves_numbers_as_versions_and_names_as_aliases()
    {
        var catalog = new ModelCatalog("moe-small", new ModelRegistryState());
        Assert.Equal("model:moe-small/1", ModelCatalog.PinHolder("moe-small", catalog.NextVersion));
        catalog.Add(Checkpoint(1), "first", Now);
        catalog.Add(Checkpoint(2), null, Now);
        catalog.SetAlias("production", 1);

        Assert.Equal(1, catalog.Resolve("production").Version);
        Assert.Equal(2, catalog.Resolve(" 2 ").Version);
        Assert.Equal("version", Assert.Throws<PlatformException>(() => catalog.Resolve("3")).Field);
        Assert.Equal("alias", Assert.Throws<PlatformException>(() => catalog.SetAlias("2", 1)).Field);
        Assert.False(catalog.SetAlias("production", 1));
    }

    [Fact]
    public void Deleted_version_numbers_are_never_given_again()
    {
        var catalog = new ModelCatalog("moe-small", new ModelRegistryState());
        catalog.Add(Checkpoint(1), null, Now);
        catalog.Add(Checkpoint(2), null, Now);
        catalog.SetAlias("production", 2);

        Assert.Equal("version", Assert.Throws<PlatformException>(() => catalog.Delete(2)).Field);
        catalog.Delete(1);
        var restored = new ModelCatalog("moe-small", catalog.ToState());

        Assert.Equal(3, restored.NextVersion);
        Assert.Equal([2], restored.Snapshot().Versions.Select(v => v.Version));
    }
}
