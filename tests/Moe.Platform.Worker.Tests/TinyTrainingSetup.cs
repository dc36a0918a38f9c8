using System.Text.Json.Nodes;
using Moe.Platform.Worker.Jobs;

[assembly: AssemblyFixture(typeof(Moe.Platform.Worker.Tests.TinyTrainingSetup))]

namespace Moe.Platform.Worker.Tests;

/// <summary>
/// Shared by the tests that run the real trainer: a tiny corpus, its tokenizer and prepared dataset (made once, through
/// the worker's own launcher), and run specs of a tiny MoE (d_model 32, 2 layers, 4 experts, seq 16, batch 4).
/// </summary>
public sealed class TinyTrainingSetup : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"moe-worker-{Guid.NewGuid():N}");

    /// <summary>moe-trainer.dll, copied beside the tests by the project reference.</summary>
    public TrainerExecutable Trainer { get; } = TrainerExecutable.FromDll(Path.Combine(AppContext.BaseDirectory, "moe-trainer.dll"));

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        var rng = new Random(3);
        string[] words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "tree", "near", "house", "river", "quickly", "slowly"];
        await File.WriteAllLinesAsync(Path.Combine(Root, "corpus.jsonl"), Enumerable.Range(0, 120).Select(_ =>
            new JsonObject { ["text"] = string.Join(" ", Enumerable.Range(0, 80).Select(_ => words[rng.Next(words.Length)])) + "." }.ToJsonString()));
        await RunOkAsync("tokenizer", "train", "--input", "corpus.jsonl", "--vocab", "300", "--out", "tok/tokenizer.json");
        await RunOkAsync("data", "prepare", "--input", "corpus.jsonl", "--tokenizer", "tok/tokenizer.json", "--out", "ds", "--validation", "0.1");
    }

    private async Task RunOkAsync(params string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var result = await TrainerCli.RunAsync(Trainer, args, Root, timeout.Token);
        if (result.ExitCode != 0) throw new InvalidOperationException($"moe-trainer {string.Join(' ', args)}: {result}");
    }

    /// <summary>
    /// Writes the spec <c>&lt;name&gt;.json</c> (beside the tokenizer and dataset, whose paths it names relatively) and
    /// returns the command that trains it into <c>runs/&lt;name&gt;</c>.
    /// </summary>
    public async Task<TrainerCommand> CommandAsync(string name, int steps, int checkpointEvery, int evalEvery = 10, int keepLast = 2,
        params string[] extraArguments)
    {
        var spec = Spec(name, steps, checkpointEvery, evalEvery, keepLast, "tok/tokenizer.json", "ds");
        var specPath = Path.Combine(Root, $"{name}.json");
        await RunSpecFile.WriteAsync(specPath, spec);
        return new TrainerCommand(Trainer, specPath, Path.Combine(Root, "runs", name), Device: "cpu", ExtraArguments: extraArguments);
    }

    /// <summary>
    /// The run config of a tiny MoE (d_model 32, 2 layers, 4 experts, seq 16, batch 4) on the prepared corpus; paths are
    /// used as given (relative ones resolve against the spec file).
    /// </summary>
    public static JsonObject Spec(string name, int steps, int checkpointEvery, int evalEvery, int keepLast, string tokenizer, string dataset) => new()
    {
        ["name"] = name,
        ["model"] = JsonNode.Parse("""
            { "vocab_size": 320, "d_model": 32, "n_layers": 2, "n_heads": 2, "max_seq_len": 32, "ffn_hidden": 64,
              "moe": { "num_experts": 4, "top_k": 2, "expert_hidden": 32, "balance": { "switch_weight": 0.01 } } }
            """),
        ["tokenizer"] = tokenizer,
        ["data"] = new JsonObject { ["datasets"] = new JsonArray(new JsonObject { ["name"] = "corpus", ["path"] = dataset }) },
        ["training"] = new JsonObject
        {
            ["steps"] = steps, ["batch_size"] = 4, ["seq_len"] = 16, ["lr"] = 0.01, ["min_lr"] = 0.001, ["warmup_steps"] = 2,
            ["eval_every"] = evalEvery, ["eval_windows"] = 8, ["checkpoint_every"] = checkpointEvery, ["keep_last"] = keepLast,
        },
    };

    public ValueTask DisposeAsync()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
