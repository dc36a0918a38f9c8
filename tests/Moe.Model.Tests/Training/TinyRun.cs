using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Moe.Model.Data;
using Moe.Model.Training;

namespace Moe.Model.Tests.Training;

/// <summary>Bytes as token ids; its vocabulary hash is the hash of a file standing in for tokenizer.json.</summary>
sealed class ByteEncoder(string tokenizerFile) : ITokenEncoder
{
    public int VocabSize => 256;
    public int[] Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();
    public string VocabularyHash { get; } = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(tokenizerFile)));
}

/// <summary>
/// A tiny but learnable training set-up in a temporary folder: sentences from a small grammar, byte tokens, a prepared
/// dataset, and a run config for a 2-layer MoE that trains in well under a second per dozen steps.
/// </summary>
sealed class TinyRun : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"moe-train-{Guid.NewGuid():N}");
    public string Tokenizer => Path.Combine(Root, "tokenizer.json");

    public TinyRun()
    {
        Directory.CreateDirectory(Root);
        File.WriteAllText(Tokenizer, """{"stand-in": "byte tokens"}""");
        Prepare("main", Sentences(seed: 1, documents: 60));
        Prepare("extra", Sentences(seed: 2, documents: 20, subjects: ["a robot", "the moon"]));
    }

    public string DatasetDir(string name) => Path.Combine(Root, "data", name);

    public static IEnumerable<string> Sentences(int seed, int documents, string[]? subjects = null)
    {
        subjects ??= ["the cat", "a dog", "the bird", "my friend"];
        string[] verbs = ["sat on", "looked at", "ran to", "slept near"];
        string[] objects = ["the mat.", "a tree.", "the house.", "the river."];
        var rng = new Random(seed);
        for (var d = 0; d < documents; d++)
            yield return string.Join(" ", Enumerable.Range(0, 12).Select(_ =>
                $"{subjects[rng.Next(subjects.Length)]} {verbs[rng.Next(verbs.Length)]} {objects[rng.Next(objects.Length)]}"));
    }

    void Prepare(string name, IEnumerable<string> documents)
    {
        var source = Path.Combine(Root, $"{name}.jsonl");
        File.WriteAllLines(source, documents.Select(t => new JsonObject { ["text"] = t }.ToJsonString()));
        TokenDataset.Prepare([source], new ByteEncoder(Tokenizer), DatasetDir(name),
            new PrepareOptions { ValidationFraction = 0.1, Seed = 7, DocumentSeparator = 10 });
    }

    /// <summary>The run config as JSON text, so tests exercise the same loader as the CLI; overrides adjust it.</summary>
    public RunConfig Config(params string[] overrides)
    {
        var json = $$"""
        {
          "name": "tiny",
          "model": {
            "vocab_size": 256, "d_model": 32, "n_layers": 2, "n_heads": 2, "max_seq_len": 32, "ffn_hidden": 64,
            "moe": { "num_experts": 4, "top_k": 2, "expert_hidden": 32, "balance": { "switch_weight": 0.01, "z_loss_weight": 0.001 } }
          },
          "tokenizer": "tokenizer.json",
          "data": { "datasets": [ { "name": "main", "path": "data/main" }, { "name": "extra", "path": "data/extra" } ],
                    "mixture": [ { "until": 1.0, "weights": { "main": 0.8, "extra": 0.2 } } ] },
          "training": { "seed": 5, "steps": 12, "batch_size": 4, "seq_len": 16, "lr": 0.01, "min_lr": 0.001, "warmup_steps": 2,
                        "eval_every": 4, "eval_windows": 8, "checkpoint_every": 4, "keep_last": 2 }
        }
        """;
        return RunConfigLoader.Parse(json, Root, overrides);
    }

    public string RunDir(string name) => Path.Combine(Root, "runs", name);

    /// <summary>Trains in <paramref name="runDir"/> and returns every step's report.</summary>
    public static (TrainResult Result, List<StepReport> Steps) Train(RunConfig config, string runDir, long? stopAfter = null)
    {
        var steps = new List<StepReport>();
        using var run = TrainingRun.Open(config, runDir, CPU, new TrainerOptions { StopAfterStep = stopAfter, OnStep = steps.Add });
        return (run.Run(TestContext.Current.CancellationToken), steps);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
