using System.Globalization;
using System.Text.Json.Nodes;
using Moe.Model.Backend;
using Moe.Model.Data;
using Moe.Model.Evaluation;
using Moe.Model.Tokenization;
using Moe.Model.Training;

namespace Moe.Trainer;

/// <summary>
/// <c>moe-trainer eval</c>: validation loss, perplexity and expert balance of a checkpoint on a prepared dataset's
/// validation split, and/or exact-match accuracy on synthetic arithmetic (docs/evaluation.md).
/// </summary>
public static class EvalCommand
{
    public static int Run(CommandArgs args)
    {
        var checkpointPath = args.Require("checkpoint");
        var dataDir = args.Get("data");
        var deviceText = args.Get("device") ?? "cpu";
        var libtorch = args.Get("libtorch");
        var windows = args.Int("windows", 256);
        var batch = args.Int("batch", 16);
        var arithmetic = args.Int("arithmetic", 0);
        var arithmeticSeed = args.Int("arithmetic-seed", 1234, min: 0);
        var maxOperand = args.Int("arithmetic-max-operand", 99);
        var json = args.Flag("json");
        args.RejectUnknown();
        if (maxOperand > 1_000_000_000) throw new UsageException($"--arithmetic-max-operand must be at most 1000000000 (got {maxOperand})");

        var checkpoint = CheckpointOption.Resolve(checkpointPath);
        var config = checkpoint.State.Config;
        var seq = config.Training.SeqLen;
        // Without --data, validation runs on the run's own validation dataset, unless only arithmetic was asked for.
        if (dataDir is null && arithmetic == 0) dataDir = config.Data.ValidationDataset.Path;
        var selected = dataDir is null ? null : Windows(dataDir, checkpoint, seq, windows);

        var device = TorchBackend.Initialize(deviceText, libtorch);
        using var model = CheckpointStore.LoadModel(checkpoint, device);
        var result = new JsonObject { ["checkpoint"] = checkpoint.Directory, ["step"] = checkpoint.State.Step };
        var lines = new List<string>();
        if (selected is not null)
        {
            var balance = new RouterBalance();
            var loss = ValidationLoss.Compute(model, selected, batch, device, balance);
            result["data"] = Path.GetFullPath(dataDir!);
            result["windows"] = selected.GetLength(0);
            result["seq_len"] = seq;
            result["val_loss"] = loss;
            result["val_ppl"] = Math.Exp(loss);
            result["router"] = balance.ToJson();
            lines.Add(Text($"{checkpoint.Directory} (step {checkpoint.State.Step}) on {dataDir}: validation loss {loss:F4}, perplexity {Math.Exp(loss):F2} over {selected.GetLength(0)} windows of {seq} tokens"));
            foreach (var l in balance.Layers)
                lines.Add(Text($"  layer {l.Layer}: max/mean load {l.MaxOverMean:F2}, dropped {l.DropFraction:P2}, entropy {l.Entropy:F3}, load {string.Join(" ", l.Load.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))}"));
        }
        else result["seq_len"] = seq;

        if (arithmetic > 0)
        {
            var tokenizer = BpeTokenizer.Load(checkpoint.TokenizerPath);
            var a = ArithmeticEval.Evaluate(model, tokenizer, arithmeticSeed, arithmetic, maxOperand, device);
            result["arithmetic"] = Json(a);
            lines.Add(Text($"{checkpoint.Directory} (step {checkpoint.State.Step}) arithmetic: {a.Correct}/{a.Problems} exact ({a.ExactMatch:P1}), seed {a.Seed}, operands up to {a.MaxOperand}"));
            foreach (var e in a.Examples)
                lines.Add($"  {e.Prompt.Replace("\n", " ")} -> \"{e.Completion}\" [{(e.Correct ? "correct" : "wrong")}, answer {e.Answer}]");
        }

        if (json) Console.WriteLine(JsonOutput.Serialize(result));
        else foreach (var line in lines) Console.WriteLine(line);
        return 0;
    }

    /// <summary>The validation windows of a prepared dataset made with the checkpoint's tokenizer.</summary>
    static long[,] Windows(string dataDir, Checkpoint checkpoint, int seq, int windows)
    {
        if (!File.Exists(Path.Combine(dataDir, DatasetManifest.FileName))) throw new UsageException($"--data: '{dataDir}' is not a prepared dataset (no {DatasetManifest.FileName})");
        var manifest = TokenDataset.Verify(dataDir);
        if (manifest.VocabularyHash != checkpoint.State.TokenizerHash)
            throw new UsageException($"--data: '{dataDir}' was prepared with another tokenizer than the checkpoint's");
        var selected = ValidationWindows.Select(TokenDataset.ReadTokens(dataDir, DatasetSplit.Validation), seq, windows);
        if (selected.GetLength(0) == 0) throw new UsageException($"--data: '{dataDir}' has no validation split of at least {seq + 1} tokens");
        return selected;
    }

    static JsonObject Json(ArithmeticResult a) => new()
    {
        ["problems"] = a.Problems,
        ["correct"] = a.Correct,
        ["exact_match"] = a.ExactMatch,
        ["seed"] = a.Seed,
        ["max_operand"] = a.MaxOperand,
        ["examples"] = new JsonArray(a.Examples.Select(e => (JsonNode?)new JsonObject
        {
            ["prompt"] = e.Prompt, ["completion"] = e.Completion, ["answer"] = e.Answer, ["predicted"] = e.Predicted, ["correct"] = e.Correct,
        }).ToArray()),
    };

    static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
