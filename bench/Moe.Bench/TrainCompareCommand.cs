using System.Globalization;
using System.Text.Json.Nodes;
using Moe.Model.Config;
using Moe.Model.Model;
using Moe.Model.Training;

namespace Moe.Bench;

/// <summary>
/// <c>train</c>: end-to-end training of one run config under several variants (balancing methods, a dense model with
/// the same active parameters), same data, steps and seed, each in its own run folder; one table of validation loss,
/// expert balance, drops and training tokens/s. This is the MoE-vs-dense experiment of docs/benchmarks.md.
/// </summary>
static class TrainCompareCommand
{
    /// <summary>Named variants: overrides on top of the run config (the dense one swaps the model for its baseline).</summary>
    static IReadOnlyList<string> Variant(string name, string denseModelPath) => name switch
    {
        "moe-switch" => ["model.moe.balance.switch_weight=0.01", "model.moe.balance.aux_free=false"],
        "moe-none" => ["model.moe.balance.switch_weight=0", "model.moe.balance.z_loss_weight=0", "model.moe.balance.aux_free=false"],
        "moe-aux-free" => ["model.moe.balance.switch_weight=0", "model.moe.balance.aux_free=true"],
        "dense" => ["model=" + JsonNode.Parse(File.ReadAllText(denseModelPath))!.ToJsonString()],
        _ => throw new UsageException($"unknown variant '{name}' (moe-switch, moe-none, moe-aux-free, dense)"),
    };

    public static int Run(BenchArgs a)
    {
        var configPath = a.Get("run-config") ?? "configs/train/brown.json";
        var dense = a.Get("dense-model") ?? "configs/dense-default.json";
        var variants = (a.Get("variants") ?? "moe-switch,moe-none,moe-aux-free,dense").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var steps = a.Int("steps", 300);
        var output = a.Get("out") ?? Path.Combine("runs", "bench-train");
        var ctx = BenchContext.Create(a);
        if (!File.Exists(configPath)) throw new UsageException($"--run-config: '{configPath}' does not exist (./platform run prepares its data)");

        var rows = new List<JsonObject>();
        foreach (var variant in variants)
        {
            var overrides = Variant(variant, dense).Concat([$"training.steps={steps}", $"training.checkpoint_every={steps}",
                $"training.eval_every={Math.Max(1, steps / 6)}", $"training.dtype={(ctx.Dtype == TorchSharp.torch.ScalarType.BFloat16 ? "bfloat16" : "float32")}"]).Concat(ctx.Overrides).ToList();
            var config = RunConfigLoader.LoadFile(configPath, overrides);
            var runDir = Path.Combine(output, variant);
            if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            var reports = new List<StepReport>();
            var evals = new List<EvalReport>();
            BenchContext.Log($"{variant}: {steps} steps of {config.Training.TokensPerStep} tokens");
            using (var run = TrainingRun.Open(config, runDir, ctx.Device, new TrainerOptions
            {
                OnStep = r => { reports.Add(r); if (r.Step % 50 == 0) BenchContext.Log($"{variant} step {r.Step} loss {r.Loss:F3} {r.TokensPerSecond:F0} tok/s"); },
                OnEval = evals.Add,
            }))
                run.Run();
            rows.Add(Summarise(variant, config, reports, evals));
            ctx.Emit(rows[^1]);
        }
        PrintTable(rows);
        ctx.Finish();
        return 0;
    }

    static JsonObject Summarise(string variant, RunConfig config, List<StepReport> reports, List<EvalReport> evals)
    {
        // Balance over the last tenth of training, averaged over MoE layers: where the balancing method has settled.
        var tail = reports.Skip(reports.Count - Math.Max(1, reports.Count / 10)).ToList();
        var moe = tail.Where(r => r.Router.Count > 0).ToList();
        var speeds = reports.Skip(Math.Min(10, reports.Count / 2)).Select(r => r.TokensPerSecond).Order().ToList();
        var size = ModelSize.Of(config.Model);
        return new JsonObject
        {
            ["kind"] = "train", ["variant"] = variant, ["model"] = config.Model.Name, ["steps"] = reports.Count,
            ["params_total"] = size.Total, ["params_active"] = size.ActivePerToken,
            ["first_val_loss"] = evals[0].ValLoss, ["final_val_loss"] = evals[^1].ValLoss, ["best_val_loss"] = evals.Min(e => e.ValLoss),
            ["max_over_mean_load"] = moe.Count == 0 ? null : moe.Average(r => r.Router.Average(s => s.MaxOverMeanLoad)),
            ["worst_layer_max_over_mean"] = moe.Count == 0 ? null : moe.Average(r => r.Router.Max(s => s.MaxOverMeanLoad)),
            ["drop_fraction"] = moe.Count == 0 ? null : moe.Average(r => r.Router.Average(s => s.DroppedFraction)),
            ["tokens_per_s_median"] = speeds[speeds.Count / 2],
            ["train_seconds"] = reports.Sum(r => config.Training.TokensPerStep / r.TokensPerSecond),
        };
    }

    static void PrintTable(List<JsonObject> rows)
    {
        static string F(JsonNode? n, string format) => n is null ? "-" : ((double)n).ToString(format, CultureInfo.InvariantCulture);
        Console.WriteLine("| variant | params total / active | val loss (first -> final) | best | max/mean load | worst layer | drop | tokens/s |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            Console.WriteLine($"| {r["variant"]} | {(long)r["params_total"]! / 1e6:F2}M / {(long)r["params_active"]! / 1e6:F2}M | {F(r["first_val_loss"], "F3")} -> {F(r["final_val_loss"], "F3")} | {F(r["best_val_loss"], "F3")} | {F(r["max_over_mean_load"], "F2")} | {F(r["worst_layer_max_over_mean"], "F2")} | {F(r["drop_fraction"], "P1")} | {F(r["tokens_per_s_median"], "F0")} |");
    }
}
