using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Moe.Trainer.Tests;

/// <summary>
/// The command line end to end on a tiny corpus: tokenizer, dataset, training, resume after SIGTERM, eval, sample,
/// and the exit codes and messages of bad input.
/// </summary>
public sealed class CliTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), $"moe-cli-{Guid.NewGuid():N}");

    public CliTests()
    {
        Directory.CreateDirectory(dir);
        var rng = new Random(3);
        string[] words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "tree", "near", "house", "river", "quickly", "slowly"];
        File.WriteAllLines(Path.Combine(dir, "corpus.jsonl"), Enumerable.Range(0, 120).Select(_ =>
            new JsonObject { ["text"] = string.Join(" ", Enumerable.Range(0, 80).Select(_ => words[rng.Next(words.Length)])) + "." }.ToJsonString()));
        File.WriteAllText(Path.Combine(dir, "run.json"), """
        {
          "name": "cli",
          "model": { "vocab_size": 320, "d_model": 32, "n_layers": 2, "n_heads": 2, "max_seq_len": 32, "ffn_hidden": 64,
                     "moe": { "num_experts": 4, "top_k": 2, "expert_hidden": 32, "balance": { "switch_weight": 0.01 } } },
          "tokenizer": "tok/tokenizer.json",
          "data": { "datasets": [ { "name": "corpus", "path": "ds" } ] },
          "training": { "steps": 40, "batch_size": 4, "seq_len": 16, "lr": 0.01, "min_lr": 0.001, "warmup_steps": 2,
                        "eval_every": 10, "eval_windows": 8, "checkpoint_every": 10 }
        }
        """);
    }

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    TrainerResult Ok(params string[] args)
    {
        var r = TrainerProcess.Run(dir, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    void Prepare()
    {
        Ok("tokenizer", "train", "--input", "corpus.jsonl", "--vocab", "300", "--out", "tok/tokenizer.json");
        Ok("data", "prepare", "--input", "corpus.jsonl", "--tokenizer", "tok/tokenizer.json", "--out", "ds", "--validation", "0.1");
    }

    [Fact]
    public void TrainsEvaluatesAndSamplesThroughTheCommandLine()
    {
        Prepare();
        var train = Ok("train", "--config", "run.json", "--out", "runs/a", "--json");
        var records = train.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(40, records.Count(r => (string?)r["type"] == "step"));
        var evals = records.Where(r => (string?)r["type"] == "eval").Select(r => (double)r["val_loss"]!).ToList();
        Assert.True(evals[^1] < evals[0], $"validation loss {string.Join(" -> ", evals)}");
        Assert.Contains("finished at step 40", train.Stderr); // human lines go to stderr when stdout carries JSON

        var eval = Ok("eval", "--checkpoint", "runs/a", "--json", "--windows", "8", "--batch", "4");
        var result = JsonNode.Parse(eval.Stdout)!;
        Assert.Equal(40, (long)result["step"]!);
        Assert.Equal(evals[^1], (double)result["val_loss"]!, 4); // the windows and batches of training's last evaluation

        var sample = Ok("sample", "--checkpoint", "runs/a", "--prompt", "the cat", "--max-tokens", "12", "--greedy");
        Assert.StartsWith("--- sample 1 (step 40, greedy)", sample.Stdout);
        Assert.Contains("the cat", sample.Stdout);
    }

    [Fact]
    public void SigtermCheckpointsAndTheSameCommandResumes()
    {
        Prepare();
        var args = new[] { "train", "--config", "run.json", "--out", "runs/b", "training.steps=100000", "training.checkpoint_every=100000" };
        using (var process = TrainerProcess.Start(dir, args))
        {
            var metrics = Path.Combine(dir, "runs", "b", "metrics.jsonl");
            var watch = Stopwatch.StartNew();
            while (!(File.Exists(metrics) && File.ReadAllText(metrics).Contains("\"step\":3,")) && watch.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(100);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "the trainer did not stop after SIGTERM");
            Assert.Equal(130, process.ExitCode);
        }
        var end = File.ReadAllLines(Path.Combine(dir, "runs", "b", "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Last();
        Assert.Equal("cancelled", (string?)end["reason"]);
        var stoppedAt = (long)end["step"]!;
        Assert.True(Directory.Exists(Path.Combine(dir, "runs", "b", "checkpoints", $"step-{stoppedAt:D8}")));

        var resumed = TrainerProcess.Run(dir, [.. args, "--stop-after", (stoppedAt + 2).ToString()]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"resuming from", resumed.Stdout);
        Assert.Contains($"stopped (--stop-after) at step {stoppedAt + 2}", resumed.Stdout);
    }

    [Theory]
    [InlineData(2, "invalid configuration: training.seq_len: 64 is longer than the model's context", "train", "--config", "run.json", "training.seq_len=64")]
    [InlineData(2, "invalid configuration: config: file 'none.json' does not exist", "train", "--config", "none.json")]
    [InlineData(2, "unknown option --lr", "train", "--config", "run.json", "--lr", "3")]
    [InlineData(2, "--input: file 'missing.txt' does not exist", "tokenizer", "train", "--input", "missing.txt", "--vocab", "300", "--out", "t.json")]
    [InlineData(1, "empty.txt:1: file is empty", "data", "prepare", "--input", "empty.txt", "--tokenizer", "tok/tokenizer.json", "--out", "bad")]
    [InlineData(1, "broken.jsonl:2: invalid JSON", "data", "prepare", "--input", "broken.jsonl", "--tokenizer", "tok/tokenizer.json", "--out", "bad")]
    [InlineData(2, "data.datasets[0].path", "train", "--config", "run.json", "data.datasets=[{\"name\":\"corpus\",\"path\":\"nowhere\"}]")]
    [InlineData(2, "unknown command 'trian'", "trian")]
    public void BadInputExitsWithACodeAndAMessageNamingTheProblem(int code, string message, params string[] args)
    {
        Prepare();
        File.WriteAllText(Path.Combine(dir, "empty.txt"), "");
        File.WriteAllLines(Path.Combine(dir, "broken.jsonl"), ["""{"text":"fine"}""", """{"text": oops}"""]);
        var r = TrainerProcess.Run(dir, args);
        Assert.True(r.ExitCode == code, r.ToString());
        Assert.Contains(message, r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "bad")), "a failed preparation left its output folder");
    }
}
