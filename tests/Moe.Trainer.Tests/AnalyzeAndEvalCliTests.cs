using System.Text.Json.Nodes;

namespace Moe.Trainer.Tests;

/// <summary>
/// A tiny checkpoint trained once through the command line on documents of three categories, for the commands that
/// inspect a checkpoint: <c>analyze routing</c> and <c>eval</c>.
/// </summary>
public sealed class TinyCheckpoint : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), $"moe-cli-ckpt-{Guid.NewGuid():N}");
    public static readonly string[] Categories = ["fiction", "lore", "news"];

    public TinyCheckpoint()
    {
        Directory.CreateDirectory(Dir);
        var rng = new Random(8);
        string[] shared = ["the", "a", "and", "of", "to"];
        var pools = new Dictionary<string, string[]>
        {
            ["news"] = ["jury", "vote", "city", "mayor", "court", "election"],
            ["fiction"] = ["she", "ran", "dark", "door", "whispered", "night"],
            ["lore"] = ["moon", "stone", "ancient", "river", "spirit", "king"],
        };
        File.WriteAllLines(Path.Combine(Dir, "corpus.jsonl"), Enumerable.Range(0, 90).Select(i =>
        {
            var category = Categories[i % 3];
            var words = Enumerable.Range(0, 50).Select(_ => rng.Next(3) == 0 ? shared[rng.Next(shared.Length)] : pools[category][rng.Next(6)]);
            return new JsonObject { ["text"] = string.Join(" ", words) + ".", ["category"] = category, ["source"] = $"doc{i}" }.ToJsonString();
        }));
        File.WriteAllText(Path.Combine(Dir, "run.json"), """
        {
          "name": "ckpt",
          "model": { "vocab_size": 320, "d_model": 32, "n_layers": 2, "n_heads": 2, "max_seq_len": 32, "ffn_hidden": 64,
                     "moe": { "num_experts": 4, "top_k": 2, "expert_hidden": 32, "balance": { "switch_weight": 0.01 } } },
          "tokenizer": "tok/tokenizer.json",
          "data": { "datasets": [ { "name": "corpus", "path": "ds" } ] },
          "training": { "steps": 10, "batch_size": 4, "seq_len": 16, "lr": 0.01, "min_lr": 0.001, "warmup_steps": 2,
                        "eval_every": 10, "eval_windows": 8, "checkpoint_every": 10 }
        }
        """);
        Ok("tokenizer", "train", "--input", "corpus.jsonl", "--vocab", "300", "--out", "tok/tokenizer.json");
        Ok("data", "prepare", "--input", "corpus.jsonl", "--tokenizer", "tok/tokenizer.json", "--out", "ds", "--validation", "0.1");
        Ok("train", "--config", "run.json", "--out", "runs/a");
    }

    public TrainerResult Ok(params string[] args)
    {
        var r = TrainerProcess.Run(Dir, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"moe-trainer {string.Join(' ', args)} failed: {r}");
        return r;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary><c>analyze routing</c> and <c>eval</c> as the portal runs them: JSON on stdout, shapes and sums checked.</summary>
public sealed class AnalyzeAndEvalCliTests(TinyCheckpoint checkpoint) : IClassFixture<TinyCheckpoint>
{
    const double Tol = 1e-6;

    static double Sum(JsonNode? array) => array!.AsArray().Sum(v => (double)v!);

    [Fact]
    public void AnalyzeRoutingPrintsAndWritesTheDocumentedJson()
    {
        var r = checkpoint.Ok("analyze", "routing", "--checkpoint", "runs/a", "--input", "corpus.jsonl", "--max-docs", "30",
            "--top-tokens", "5", "--position-buckets", "4", "--json", "--out", "out/routing.json");
        var json = JsonNode.Parse(r.Stdout)!;
        Assert.Equal(r.Stdout.Trim(), File.ReadAllText(Path.Combine(checkpoint.Dir, "out", "routing.json")).Trim());

        Assert.EndsWith("step-00000010", (string)json["checkpoint"]!);
        Assert.Equal(10, (long)json["step"]!);
        Assert.Equal(30, (int)json["documents"]!);
        Assert.Equal(16, (int)json["seq_len"]!);
        Assert.Equal(4, (int)json["experts"]!);
        Assert.Equal(2, (int)json["top_k"]!);
        Assert.Equal("train", (string)json["capacity"]!);
        Assert.Equal(1.25, (double)json["capacity_factor"]!);
        Assert.Equal(TinyCheckpoint.Categories, json["groups"]!.AsArray().Select(g => (string)g!));
        var tokens = (long)json["tokens"]!;
        Assert.True(tokens > 0 && tokens % 16 == 0, $"tokens {tokens} should be whole windows of 16");

        var layers = json["layers"]!.AsArray();
        Assert.Equal([0, 1], layers.Select(l => (int)l!["layer"]!));
        foreach (var layer in layers.Select(l => l!))
        {
            Assert.Equal(tokens, (long)layer["tokens"]!);
            Assert.Equal(4, layer["load"]!.AsArray().Count);
            Assert.Equal(1, Sum(layer["load"]), Tol);
            Assert.InRange((double)layer["max_over_mean"]!, 1, 4);
            Assert.InRange((double)layer["drop_fraction"]!, 0, 1);
            Assert.InRange((double)layer["entropy"]!, 0, Math.Log(4) + Tol);

            var groups = layer["by_group"]!.AsArray();
            Assert.Equal(TinyCheckpoint.Categories, groups.Select(g => (string)g!["group"]!));
            Assert.Equal(tokens, groups.Sum(g => (long)g!["tokens"]!));
            Assert.All(groups, g => Assert.Equal(1, Sum(g!["share"]), Tol));

            var top = layer["top_tokens"]!.AsArray();
            Assert.Equal([0, 1, 2, 3], top.Select(e => (int)e!["expert"]!));
            foreach (var expert in top)
            {
                var list = expert!["tokens"]!.AsArray();
                Assert.InRange(list.Count, 0, 5);
                var counts = list.Select(t => (long)t!["count"]!).ToList();
                Assert.Equal(counts.OrderByDescending(c => c), counts);
                Assert.All(list, t => Assert.InRange((double)t!["routed_share"]!, Tol, 1));
                Assert.All(list, t => Assert.NotNull((string?)t!["text"]));
            }

            var ci = layer["context_independence"]!;
            Assert.Equal(0.25, (double)ci["chance"]!);
            Assert.Equal(5, (int)ci["min_occurrences"]!);
            Assert.InRange((long)ci["tokens_counted"]!, 1, tokens);
            Assert.InRange((double)ci["consistency"]!, 0.25, 1); // the most common expert takes at least 1/E of an id's tokens

            var drops = layer["drop_by_position"]!;
            Assert.Equal(4, (int)drops["bucket_size"]!);
            Assert.Equal(4, drops["fractions"]!.AsArray().Count);
            Assert.All(drops["fractions"]!.AsArray(), f => Assert.InRange((double)f!, 0, 1));
        }
    }

    [Fact]
    public void AnalyzeRoutingAtEvalCapacityReportsTheEvalFactorAndAHumanSummaryWithoutJson()
    {
        var r = checkpoint.Ok("analyze", "routing", "--checkpoint", "runs/a", "--input", "corpus.jsonl", "--max-docs", "6", "--capacity", "eval");
        Assert.Contains("6 documents", r.Stdout);
        Assert.Contains("capacity eval (factor 2)", r.Stdout);
        Assert.Contains("layer 1: max/mean load", r.Stdout);
    }

    [Fact]
    public void EvalReportsValidationBalanceAndArithmeticInOneJsonObject()
    {
        var r = checkpoint.Ok("eval", "--checkpoint", "runs/a", "--data", "ds", "--windows", "8", "--batch", "4", "--arithmetic", "8", "--json");
        var json = JsonNode.Parse(r.Stdout)!;
        Assert.Equal(10, (long)json["step"]!);
        Assert.EndsWith("ds", (string)json["data"]!);
        Assert.Equal(16, (int)json["seq_len"]!);
        Assert.InRange((int)json["windows"]!, 1, 8);
        var loss = (double)json["val_loss"]!;
        Assert.Equal(Math.Exp(loss), (double)json["val_ppl"]!, 6);

        var router = json["router"]!.AsArray();
        Assert.Equal([0, 1], router.Select(l => (int)l!["layer"]!));
        foreach (var layer in router.Select(l => l!))
        {
            Assert.Equal(1, Sum(layer["load"]), Tol);
            Assert.InRange((double)layer["max_over_mean"]!, 1, 4);
            Assert.InRange((double)layer["drop_fraction"]!, 0, 1);
            Assert.InRange((double)layer["entropy"]!, 0, Math.Log(4) + Tol);
        }

        var a = json["arithmetic"]!;
        Assert.Equal(8, (int)a["problems"]!);
        Assert.Equal(1234, (long)a["seed"]!);
        var correct = (int)a["correct"]!;
        var exact = (double)a["exact_match"]!;
        Assert.InRange(exact, 0, 1);
        Assert.Equal(correct / 8.0, exact);
        var examples = a["examples"]!.AsArray();
        Assert.Equal(5, examples.Count);
        Assert.All(examples, e =>
        {
            Assert.Matches(@"^Question: What is [-+*() 0-9]+\?\nAnswer:$", (string)e!["prompt"]!);
            Assert.DoesNotContain("\n", (string)e["completion"]!);
            Assert.Matches("^-?[0-9]+$", (string)e["answer"]!);
            Assert.Equal((bool)e["correct"]!, (string?)e["predicted"]?.ToJsonString() == (string)e["answer"]!);
        });
    }

    [Fact]
    public void EvalWithOnlyArithmeticLeavesOutTheValidationFields()
    {
        var r = checkpoint.Ok("eval", "--checkpoint", "runs/a", "--arithmetic", "3", "--arithmetic-seed", "5", "--arithmetic-max-operand", "9", "--json");
        var json = JsonNode.Parse(r.Stdout)!.AsObject();
        foreach (var absent in new[] { "data", "windows", "val_loss", "val_ppl", "router" }) Assert.False(json.ContainsKey(absent), absent);
        Assert.Equal(3, (int)json["arithmetic"]!["problems"]!);
        Assert.Equal(5, (long)json["arithmetic"]!["seed"]!);
        Assert.Equal(9, (int)json["arithmetic"]!["max_operand"]!);
        Assert.Equal(3, json["arithmetic"]!["examples"]!.AsArray().Count);
    }

    [Theory]
    [InlineData(2, "--input: file 'missing.jsonl' does not exist", "analyze", "routing", "--checkpoint", "runs/a", "--input", "missing.jsonl")]
    [InlineData(2, "--checkpoint: 'tok' is neither a checkpoint", "analyze", "routing", "--checkpoint", "tok", "--input", "corpus.jsonl")]
    [InlineData(2, "--checkpoint: 'nowhere' is not a folder", "analyze", "routing", "--checkpoint", "nowhere", "--input", "corpus.jsonl")]
    [InlineData(2, "missing required option --input", "analyze", "routing", "--checkpoint", "runs/a")]
    [InlineData(2, "--capacity must be train or eval (got 'infer')", "analyze", "routing", "--checkpoint", "runs/a", "--input", "corpus.jsonl", "--capacity", "infer")]
    [InlineData(2, "analyze needs a subcommand: routing", "analyze")]
    [InlineData(1, "notext.jsonl:1: missing field 'text'", "analyze", "routing", "--checkpoint", "runs/a", "--input", "notext.jsonl")]
    [InlineData(2, "--checkpoint: 'nowhere' is not a folder", "eval", "--checkpoint", "nowhere", "--arithmetic", "2")]
    [InlineData(2, "--arithmetic must be an integer >= 1 (got '0')", "eval", "--checkpoint", "runs/a", "--arithmetic", "0")]
    [InlineData(2, "--data: 'tok' is not a prepared dataset", "eval", "--checkpoint", "runs/a", "--data", "tok")]
    public void BadInputExitsWithACodeAndAMessageNamingTheOption(int code, string message, params string[] args)
    {
        File.WriteAllText(Path.Combine(checkpoint.Dir, "notext.jsonl"), """{"category":"news"}""" + "\n");
        var r = TrainerProcess.Run(checkpoint.Dir, args);
        Assert.True(r.ExitCode == code, r.ToString());
        Assert.Contains(message, r.Stderr);
    }
}
