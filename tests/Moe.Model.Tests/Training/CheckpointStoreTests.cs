using System.Text.Json.Nodes;
using Moe.Model.Training;

namespace Moe.Model.Tests.Training;

public sealed class CheckpointStoreTests : IDisposable
{
    readonly TinyRun tiny = new();

    public void Dispose() => tiny.Dispose();

    Checkpoint Save(CheckpointStore store, long step, double? val = null) =>
        store.Save(new TrainingState
        {
            Step = step, Config = tiny.Config(), TokenizerHash = "abc", Optimizer = new OptimizerState("adamw", step, 0.9, 0.95, 1e-8, 0.1),
            Rng = new RngState(1, RngState.PerStep), Data = new JsonObject { ["seed"] = 1 }, ValLoss = val,
        }, tiny.Tokenizer, dir =>
        {
            File.WriteAllBytes(Path.Combine(dir, CheckpointStore.ModelFile), [1, 2, 3, (byte)step]);
            File.WriteAllBytes(Path.Combine(dir, CheckpointStore.OptimizerFile), [4, 5, 6]);
        });

    [Fact]
    public void SavedCheckpointsLoadWithTheirState()
    {
        var store = new CheckpointStore(tiny.RunDir("s"));
        Save(store, 10, 2.5);
        var loaded = CheckpointStore.Load(Path.Combine(store.Root, "step-00000010"));
        Assert.Equal(10, loaded.State.Step);
        Assert.Equal(2.5, loaded.State.ValLoss);
        Assert.Equal(File.ReadAllBytes(tiny.Tokenizer), File.ReadAllBytes(loaded.TokenizerPath));
        Assert.Equal(loaded.Directory, CheckpointStore.Resolve(tiny.RunDir("s")).Directory);
    }

    [Fact]
    public void TruncatedCorruptedOrIncompleteCheckpointsAreRefused()
    {
        var store = new CheckpointStore(tiny.RunDir("bad"));
        var a = Save(store, 1);
        File.WriteAllBytes(a.ModelPath, [1, 2, 3]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => CheckpointStore.Load(a.Directory)).Message);

        var b = Save(store, 2);
        File.WriteAllBytes(b.OptimizerPath, [4, 5, 7]);
        Assert.Contains("optimizer.safetensors does not match its SHA-256", Assert.Throws<CheckpointException>(() => CheckpointStore.Load(b.Directory)).Message);

        var c = Save(store, 3);
        File.Delete(Path.Combine(c.Directory, CheckpointStore.StateFile));
        Assert.Contains("state.json is missing", Assert.Throws<CheckpointException>(() => CheckpointStore.Load(c.Directory)).Message);

        var d = Save(store, 4);
        File.Delete(Path.Combine(d.Directory, CheckpointStore.ManifestFile));
        Assert.Contains("incomplete", Assert.Throws<CheckpointException>(() => CheckpointStore.Load(d.Directory)).Message);
        Assert.Equal([1L, 2, 3], store.Steps()); // a folder without its manifest is not a checkpoint
    }

    [Fact]
    public void RetentionKeepsTheLastKAndTheBestAndCleansTemporaries()
    {
        var store = new CheckpointStore(tiny.RunDir("r"));
        foreach (var s in new long[] { 1, 2, 3, 4, 5 }) Save(store, s);
        Directory.CreateDirectory(Path.Combine(store.Root, ".step-00000006.tmp-dead"));
        var deleted = store.ApplyRetention(keepLast: 2, bestStep: 2);
        Assert.Equal([1L, 3], deleted);
        Assert.Equal([2L, 4, 5], store.Steps());
        store.CleanTemporary();
        Assert.Empty(Directory.GetDirectories(store.Root, ".*"));
    }
}
