using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Moe.Model.Backend;

namespace Moe.Bench;

/// <summary>Every tiny preset side by side: training-step throughput and MFU, plus the MoE-layer vs dense-layer cost.</summary>
static class AllCommand
{
    /// <summary>The systems of configs/ and their dense baselines of equal active parameters.</summary>
    static readonly string[] DefaultNames =
    [
        "default", "switch", "st-moe", "mixtral", "dbrx", "openmoe", "deepseek-v2", "deepseek-v3",
        "dense-switch", "dense-st-moe", "dense-mixtral", "dense-dbrx", "dense-openmoe", "dense-deepseek-v2", "dense-deepseek-v3",
    ];

    public static int Run(BenchArgs a)
    {
        var dir = a.Get("configs-dir") ?? "configs";
        var names = a.Get("names")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? DefaultNames;
        var (batch, seq, steps, warmup) = (a.Int("batch", 8), a.Int("seq", 128), a.Int("steps", 10), a.Int("warmup", 3));
        var seed = a.Int("seed", 0);
        var ctx = BenchContext.Create(a);
        a.ThrowIfUnread();

        var paths = names.Select(n => Path.Combine(dir, n.EndsWith(".json", StringComparison.Ordinal) ? n : n + ".json")).ToList();
        var absent = paths.Where(p => !File.Exists(p)).ToList();
        if (absent.Count > 0) throw new UsageException($"config(s) not found: {string.Join(", ", absent)}");

        var peak = ctx.Peak;
        var rows = new List<JsonObject>();
        foreach (var path in paths)
        {
            var step = Measure.TrainingSteps(ctx, path, batch, seq, steps, warmup, seed);
            ctx.Emit(step);
            JsonObject? layer = null;
            if (ctx.LoadConfig(path).Moe is not null)
            {
                // Single layers take milliseconds: time at least 30 interleaved pairs.
                layer = Measure.MoeVsDense(ctx, path, batch, seq, Math.Max(steps, 30), warmup, seed);
                ctx.Emit(layer);
            }
            rows.Add(new JsonObject
            {
                ["config"] = step["config"]!.GetValue<string>(),
                ["params_total"] = step["params_total"]!.GetValue<long>(),
                ["params_active"] = step["params_active"]!.GetValue<long>(),
                ["tokens_per_s"] = step["tokens_per_s"]?.DeepClone(),
                ["ms_per_step"] = step["ms_per_step"]?.DeepClone(),
                ["tflops"] = step["tflops"]?.DeepClone(),
                ["mfu"] = step["mfu"]?.DeepClone(),
                ["dropped_fraction"] = step["dropped_fraction"]?.DeepClone(),
                ["moe_layer_ms"] = layer?["moe_ms"]?.DeepClone(),
                ["dense_layer_ms"] = layer?["dense_ms"]?.DeepClone(),
                ["moe_vs_dense_layer"] = layer?["ratio"]?.DeepClone(),
            });
        }
        // A model against its dense baseline of equal active parameters (tokens/s of dense / tokens/s of MoE: >1 = MoE slower).
        foreach (var row in rows)
        {
            var dense = rows.FirstOrDefault(r => r["config"]!.GetValue<string>() == "dense-" + row["config"]!.GetValue<string>());
            var moeTps = row["tokens_per_s"]?.GetValue<double>();
            var denseTps = dense?["tokens_per_s"]?.GetValue<double>();
            row["moe_vs_dense_model"] = moeTps > 0 && denseTps > 0 ? Measure.Round(denseTps.Value / moeTps.Value, 3) : null;
        }

        Console.WriteLine();
        Console.WriteLine($"{ctx.DeviceName}, {ctx.DtypeName}, batch {batch} x seq {seq}, {steps} timed steps after {warmup} warm-up; "
            + $"peak {peak.Tflops:F3} TFLOP/s ({peak.Source}); {TorchBackend.Describe()}");
        Console.WriteLine(Table(rows));

        if (ctx.JsonPath is not null)
        {
            var document = new JsonObject
            {
                ["device"] = ctx.DeviceName,
                ["dtype"] = ctx.DtypeName,
                ["batch"] = batch,
                ["seq"] = seq,
                ["steps"] = steps,
                ["warmup"] = warmup,
                ["threads"] = TorchSharp.torch.get_num_threads(),
                ["backend"] = TorchBackend.Describe(),
                ["torch"] = TorchSharp.torch.__version__,
                ["peak_tflops"] = Measure.Round(peak.Tflops, 4),
                ["peak_source"] = peak.Source,
                ["rows"] = new JsonArray(rows.Select(r => (JsonNode)r.DeepClone()).ToArray()),
                ["measurements"] = new JsonArray(ctx.Results.Select(r => (JsonNode)r.DeepClone()).ToArray()),
            };
            var full = Path.GetFullPath(ctx.JsonPath);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, document.ToJsonString(BenchContext.Indented) + "\n");
            BenchContext.Log($"wrote {full}");
        }
        return 0;
    }

    /// <summary>A Markdown table (pastes into docs/benchmarks.md as is).</summary>
    public static string Table(IEnumerable<JsonObject> rows)
    {
        string[] header = ["config", "params total", "active", "tokens/s", "ms/step", "TFLOP/s", "MFU", "dropped", "MoE/dense layer", "dense/MoE model tok/s"];
        var lines = rows.Select(r => new[]
        {
            r["config"]!.GetValue<string>(),
            Millions(r["params_total"]), Millions(r["params_active"]),
            Number(r["tokens_per_s"], "F0"), Number(r["ms_per_step"], "F1"), Number(r["tflops"], "F3"),
            Commands.Percent(r["mfu"]), r["moe_layer_ms"] is null ? "-" : Commands.Percent(r["dropped_fraction"]),
            r["moe_vs_dense_layer"] is null ? "-" : Number(r["moe_vs_dense_layer"], "F2") + "x",
            r["moe_vs_dense_model"] is null ? "-" : Number(r["moe_vs_dense_model"], "F2") + "x",
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            sb.AppendLine("| " + string.Join(" | ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))) + " |");
        Line(header);
        sb.AppendLine("|" + string.Join("|", widths.Select((w, i) => i == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (var l in lines) Line(l);
        return sb.ToString().TrimEnd();
    }

    static string Millions(JsonNode? n) => n is null ? "-" : (n.GetValue<long>() / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M";

    static string Number(JsonNode? n, string format) => n is null ? "-" : n.GetValue<double>().ToString(format, CultureInfo.InvariantCulture);
}
