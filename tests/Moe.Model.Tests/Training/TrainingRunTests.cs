using System.Diagnostics;
using System.Text.Json.Nodes;
using Moe.Model.Training;

namespace Moe.Model.Tests.Training;

/// <summary>Runs in the serial collection: training re-seeds TorchSharp's process-wide generator every step.</summary>
[Collection(MoeTestModels.Collection)]
public sealed class TrainingRunTests : IDisposable
{
    readonly TinyRun tiny = new();

    public void Dispose() => tiny.Dispose();

    [Fact]
    public void ValidationLossFallsOnALearnableCorpus()
    {
        var config = tiny.Config("training.steps=60", "training.eval_every=20", "training.checkpoint_every=60");
        var evals = new List<EvalReport>();
        using (var run = TrainingRun.Open(config, tiny.RunDir("learn"), CPU, new TrainerOptions { OnEval = evals.Add }))
        {
            run.Evaluate(); // the untrained model, step 0
            run.Run(TestContext.Current.CancellationToken);
        }
        Assert.Equal([0L, 20, 40, 60], evals.Select(e => e.Step));
        // An untrained model is near ln 256 = 5.5 nats per byte; the grammar's sentences are far more predictable.
        Assert.True(evals[0].ValLoss > 5.0, $"untrained validation loss {evals[0].ValLoss:F3}");
        for (var i = 1; i < evals.Count; i++)
            Assert.True(evals[i].ValLoss < evals[i - 1].ValLoss, $"validation loss rose: {string.Join(" -> ", evals.Select(e => e.ValLoss.ToString("F3")))}");
        Assert.True(evals[^1].ValLoss < 2.8, $"final validation loss {evals[^1].ValLoss:F3}");
        Assert.Equal(Math.Exp(evals[^1].ValLoss), evals[^1].Perplexity, 9);
    }

    [Fact]
    public void SameConfigAndSeedGiveTheSameLossCurve()
    {
        var config = tiny.Config("model.moe.router.gating=noisy_top_k");
        var (_, first) = TinyRun.Train(config, tiny.RunDir("a"));
        var (_, second) = TinyRun.Train(config, tiny.RunDir("b"));
        Assert.Equal(first.Select(s => s.Loss), second.Select(s => s.Loss));
        var (_, otherSeed) = TinyRun.Train(tiny.Config("model.moe.router.gating=noisy_top_k", "training.seed=6"), tiny.RunDir("c"));
        Assert.NotEqual(first.Select(s => s.Loss), otherSeed.Select(s => s.Loss));
    }

    [Theory]
    [InlineData("float32", 1)]
    [InlineData("float32", 2)]
    [InlineData("bfloat16", 1)]
    public void ResumingGivesBitwiseTheLossesOfTheUninterruptedRun(string dtype, int accumulation)
    {
        // Noisy top-k and aux-free bias make the resumed state include randomness and router buffers.
        string[] overrides = [$"training.dtype={dtype}", $"training.grad_accum={accumulation}", "model.moe.router.gating=noisy_top_k",
            "model.moe.balance.aux_free=true", "training.checkpoint_every=100"];
        var config = tiny.Config(overrides);
        var (_, whole) = TinyRun.Train(config, tiny.RunDir("whole"));

        var (stopped, before) = TinyRun.Train(config, tiny.RunDir("split"), stopAfter: 5);
        Assert.Equal(StopReason.StepLimit, stopped.Reason);
        Assert.Equal(5, stopped.Step);
        var (finished, after) = TinyRun.Train(tiny.Config(overrides), tiny.RunDir("split"));
        Assert.Equal(StopReason.Completed, finished.Reason);

        Assert.Equal(whole.Select(s => s.Loss), before.Concat(after).Select(s => s.Loss));
        Assert.Equal(whole.Select(s => s.GradNorm), before.Concat(after).Select(s => s.GradNorm));
        Assert.Equal(Enumerable.Range(6, 7).Select(i => (long)i), after.Select(s => s.Step));
    }

    [Fact]
    public void MetricsHoldEveryStepOnceAfterAResumeWithTheDocumentedFields()
    {
        var config = tiny.Config("training.checkpoint_every=4");
        var dir = tiny.RunDir("metrics");
        TinyRun.Train(config, dir, stopAfter: 6); // checkpoints at 4 and 6 (the stop)
        // Simulate a crash after step 6's checkpoint that had already logged steps 7 and 8.
        var path = Path.Combine(dir, MetricsWriter.FileName);
        File.AppendAllLines(path, ["""{"type":"step","step":7,"loss":1}""", """{"type":"step","step":8,"loss":1}""", """{"type":"st"""]);
        TinyRun.Train(config, dir);

        var records = File.ReadAllLines(path).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var steps = records.Where(r => (string?)r["type"] == "step").Select(r => (long)r["step"]!).ToList();
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), steps);
        var step = records.First(r => (string?)r["type"] == "step");
        foreach (var field in new[] { "tokens", "loss", "lm_loss", "aux_loss", "aux", "lr", "grad_norm", "tokens_per_s", "router" })
            Assert.True(step.ContainsKey(field), $"step record lacks '{field}'");
        var layer = step["router"]!.AsArray()[0]!.AsObject();
        Assert.Equal(4, layer["load"]!.AsArray().Count);
        Assert.Equal(1.0, layer["load"]!.AsArray().Sum(v => (double)v!), 5);
        foreach (var field in new[] { "drop_fraction", "entropy", "max_over_mean", "bias" }) Assert.True(layer.ContainsKey(field), field);
        var eval = records.First(r => (string?)r["type"] == "eval");
        Assert.True((double)eval["val_loss"]! > 0);
        Assert.Equal(2, eval["mix"]!.AsObject().Count);
        Assert.Contains(records, r => (string?)r["type"] == "checkpoint");
        Assert.Equal(2, records.Count(r => (string?)r["type"] == "end"));
    }

    [Fact]
    public void KeepsTheLastCheckpointsAndTheBest()
    {
        var config = tiny.Config("training.steps=16", "training.checkpoint_every=2", "training.keep_last=2");
        var (result, _) = TinyRun.Train(config, tiny.RunDir("keep"));
        var steps = new CheckpointStore(tiny.RunDir("keep")).Steps();
        Assert.Contains(14L, steps);
        Assert.Contains(16L, steps);
        Assert.Contains(result.BestStep!.Value, steps);
        Assert.True(steps.Count <= 3);
        var best = CheckpointStore.Load(Path.Combine(tiny.RunDir("keep"), "checkpoints", CheckpointStore.NameOf(result.BestStep.Value)));
        Assert.Equal(result.BestValLoss, best.State.ValLoss);
    }

    [Fact]
    public void AnotherConfigInTheSameRunFolderIsRefusedButAnotherDeviceIsNot()
    {
        TinyRun.Train(tiny.Config(), tiny.RunDir("same"), stopAfter: 2);
        var e = Assert.Throws<ConfigException>(() => TinyRun.Train(tiny.Config("training.lr=0.02"), tiny.RunDir("same")));
        Assert.Contains("different configuration", e.Message);
        // Another device (a worker elsewhere) may continue it.
        var (resumed, _) = TinyRun.Train(tiny.Config("training.device=cuda"), tiny.RunDir("same"), stopAfter: 3);
        Assert.Equal(3, resumed.Step);
    }

    [Fact]
    public void ACorruptedCheckpointIsRefusedWhenResuming()
    {
        TinyRun.Train(tiny.Config(), tiny.RunDir("corrupt"), stopAfter: 2);
        var checkpoint = new CheckpointStore(tiny.RunDir("corrupt")).LoadLatest()!;
        var bytes = File.ReadAllBytes(checkpoint.ModelPath);
        bytes[^10] ^= 0x40;
        File.WriteAllBytes(checkpoint.ModelPath, bytes);
        var e = Assert.Throws<CheckpointException>(() => TinyRun.Train(tiny.Config(), tiny.RunDir("corrupt")));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public void DatasetsFromAnotherTokenizerAreRefused()
    {
        File.WriteAllText(tiny.Tokenizer, """{"another": "tokenizer"}""");
        var e = Assert.Throws<ConfigException>(() => TinyRun.Train(tiny.Config(), tiny.RunDir("x")));
        Assert.Equal("data.datasets[0].path", e.Field);
        Assert.Contains("another tokenizer", e.Message);
    }

    [Fact]
    public void LiveTensorsAndResidentMemoryStayFlatOverHundredsOfSteps()
    {
        var config = tiny.Config("training.steps=400", "training.eval_every=100", "training.checkpoint_every=1000", "training.eval_windows=4",
            "model.moe.balance.aux_free=true", "model.moe.router.gating=noisy_top_k");
        var liveTensors = new List<long>();
        var resident = new List<long>();
        var process = Process.GetCurrentProcess();
        using (var run = TrainingRun.Open(config, tiny.RunDir("memory"), CPU, new TrainerOptions
        {
            OnStep = s =>
            {
                if (s.Step % 50 != 0) return;
                // No forced GC before counting: a tensor left outside a dispose scope stays alive until a collection
                // happens to finalise it, so it shows up here even though the GC would hide it from the resident size.
                liveTensors.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                process.Refresh();
                resident.Add(process.WorkingSet64);
            },
        }))
            run.Run(TestContext.Current.CancellationToken);
        // From step 100 on (after the first evaluation and warm-up) every step frees what it made.
        Assert.True(liveTensors.Skip(1).Distinct().Count() == 1, $"live tensors every 50 steps: {string.Join(", ", liveTensors)}");
        // And no native memory is held on to: leaking even one batch's activations per step would add tens of MB.
        var growth = resident[^1] - resident[1];
        Assert.True(growth < 24L << 20, $"resident memory grew {growth / (1 << 20)} MiB from step 100 to 400: {string.Join(", ", resident.Select(s => s >> 20))} MiB");
    }
}
