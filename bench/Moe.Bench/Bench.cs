using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Moe.Model.Backend;
using Moe.Model.Config;
using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Bench;

/// <summary>Where and how a benchmark runs: device, compute dtype, matmul peak for MFU, and result output.</summary>
sealed class BenchContext
{
    public required Device Device { get; init; }
    public required DeviceSpec Spec { get; init; }
    public required ScalarType Dtype { get; init; }
    public required string DeviceName { get; init; }
    public required string DtypeName { get; init; }
    public required bool Json { get; init; }
    public string? JsonPath { get; init; }
    public double? GivenPeak { get; init; }
    public long? PeakSize { get; init; }
    public IReadOnlyList<string> Overrides { get; init; } = [];
    public List<JsonObject> Results { get; } = [];
    Peak? peak;

    public bool IsCuda => Device.type == DeviceType.CUDA;

    /// <summary>
    /// Reads the options every command shares (a command reads its own first: any option left unread is an error)
    /// and initialises the torch backend.
    /// </summary>
    public static BenchContext Create(BenchArgs a)
    {
        var device = a.Get("device") ?? "cpu";
        var spec = TorchBackend.ParseDevice(device);
        var backend = a.Get("backend") ?? (spec.Type == DeviceType.CUDA ? "cuda" : "cpu");
        var backendSpec = TorchBackend.ParseDevice(backend);
        if (spec.Type == DeviceType.CUDA && backendSpec.Type != DeviceType.CUDA)
            throw new UsageException("--device cuda needs --backend cuda");
        var libtorch = a.Get("libtorch");
        var threads = a.Int("threads", 0);
        var dtypeName = a.Get("dtype") ?? "fp32";
        var dtype = dtypeName switch
        {
            "fp32" => ScalarType.Float32,
            "bf16" => ScalarType.BFloat16,
            _ => throw new UsageException($"--dtype must be fp32 or bf16 (got '{dtypeName}')"),
        };
        var (json, jsonPath) = a.Optional("json");
        var givenPeak = a.Double("peak-tflops");
        var peakSize = a.Int("peak-size", 0);
        var overrides = a.All("set");
        a.ThrowIfUnread();

        Log($"initialising the {backend} backend");
        TorchBackend.Initialize(backendSpec.Type == DeviceType.CUDA ? $"cuda:{Math.Max(spec.Index, 0)}" : "cpu", libtorch);
        if (threads > 0) set_num_threads(threads);
        Log(TorchBackend.Describe());
        return new BenchContext
        {
            Device = spec.ToTorch(), Spec = spec, DeviceName = spec.ToString(), Dtype = dtype, DtypeName = dtypeName,
            Json = json, JsonPath = jsonPath, GivenPeak = givenPeak, PeakSize = peakSize > 0 ? peakSize : null, Overrides = overrides,
        };
    }

    public ModelConfig LoadConfig(string path) => ConfigLoader.LoadFile(path, Overrides);

    public Peak Peak => peak ??= Measure.MatmulPeak(this);

    public void Sync()
    {
        if (IsCuda) cuda.synchronize(Device);
    }

    /// <summary>Records a measurement: one JSON line on stdout when --json was given.</summary>
    public void Emit(JsonObject result)
    {
        Results.Add(result);
        if (Json) Console.WriteLine(result.ToJsonString(Compact));
    }

    /// <summary>Writes every measurement as a JSON array to --json's path, if one was given.</summary>
    public void Finish()
    {
        if (JsonPath is null) return;
        var full = Path.GetFullPath(JsonPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, new JsonArray(Results.Select(r => (JsonNode)r.DeepClone()).ToArray()).ToJsonString(Indented) + "\n");
        Log($"wrote {full}");
    }

    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Log(string message) => Console.Error.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}

/// <summary>Peak matmul throughput that MFU is measured against.</summary>
sealed record Peak(double Tflops, string Source);

static class Measure
{
    /// <summary>
    /// Achieved matmul throughput: fp32 1024x1024 on CPU (the same threads the model uses), bf16 8192x8192 on CUDA.
    /// A measured peak is what this machine's libtorch reaches, so MFU reads as a share of the attainable, not the datasheet.
    /// </summary>
    public static Peak MatmulPeak(BenchContext ctx)
    {
        if (ctx.GivenPeak is { } given) return new Peak(given, "given by --peak-tflops");
        var n = ctx.PeakSize ?? (ctx.IsCuda ? 8192L : 1024L);
        var dtype = ctx.IsCuda ? ScalarType.BFloat16 : ScalarType.Float32;
        var label = $"{(ctx.IsCuda ? "bf16" : "fp32")} {n}^3";
        BenchContext.Log($"measuring the matmul peak ({label} on {ctx.DeviceName})");
        using var scope = NewDisposeScope();
        var a = randn(n, n, dtype: dtype, device: ctx.Device);
        var b = randn(n, n, dtype: dtype, device: ctx.Device);
        for (var i = 0; i < (ctx.IsCuda ? 10 : 3); i++) a.mm(b).Dispose();
        // Best of 5 trials (each >= 0.25 s and >= 3 products on CPU, 40 products on CUDA): a trial slowed by
        // another process on the machine does not lower the peak.
        var best = 0.0;
        long total = 0;
        for (var trial = 0; trial < 5; trial++)
        {
            ctx.Sync();
            var sw = Stopwatch.StartNew();
            long iterations = 0;
            while (ctx.IsCuda ? iterations < 40 : (iterations < 3 || sw.Elapsed.TotalSeconds < 0.25))
            {
                a.mm(b).Dispose();
                iterations++;
            }
            ctx.Sync();
            best = Math.Max(best, 2.0 * n * n * n * iterations / sw.Elapsed.TotalSeconds / 1e12);
            total += iterations;
        }
        BenchContext.Log($"matmul peak {best:F3} TFLOP/s ({label}, best of 5 trials, {total} products)");
        return new Peak(best, $"measured {label} matmul, best of 5");
    }

    /// <summary>Forward + backward + AdamW steps of the whole model on random tokens, each step in its own dispose scope.</summary>
    public static JsonObject TrainingSteps(BenchContext ctx, string configPath, int batch, int seq, int steps, int warmup, long seed)
    {
        var cfg = ctx.LoadConfig(configPath);
        if (seq > cfg.MaxSeqLen) throw new UsageException($"--seq {seq} exceeds max_seq_len {cfg.MaxSeqLen} of {configPath}");
        var size = ModelSize.Of(cfg);
        BenchContext.Log($"step: {cfg.Name} ({size.Total / 1e6:F2}M params, {size.ActivePerToken / 1e6:F2}M active) "
            + $"batch {batch} x seq {seq}, {warmup} warm-up + {steps} timed steps, {ctx.DtypeName} on {ctx.DeviceName}");

        manual_seed(seed);
        using var model = new MoeTransformer(cfg);
        model.to(ctx.Device);
        if (ctx.Dtype != ScalarType.Float32) model.ToComputeDtype(ctx.Dtype);
        model.train();
        using var optimizer = optim.AdamW(model.parameters(), lr: 3e-4, weight_decay: 0.1);

        double firstLoss = double.NaN;
        Tensor? lastLoss = null;
        IReadOnlyList<RouterStats> lastStats = [];
        var stepMs = new List<double>();
        ctx.Sync();
        for (var step = 0; step < warmup + steps; step++)
        {
            // Each step is timed alone, from the host's start to the device's end (tensor frees included), so the
            // median below shrugs off a step slowed by another process.
            var stopwatch = Stopwatch.StartNew();
            using (NewDisposeScope())
            {
                var tokens = randint(cfg.VocabSize, [batch, seq + 1], dtype: ScalarType.Int64, device: ctx.Device);
                var output = model.Forward(tokens.narrow(1, 0, seq), tokens.narrow(1, 1, seq));
                optimizer.zero_grad();
                output.Loss!.backward();
                optimizer.step();
                model.UpdateAuxFreeBiases(output.RouterStats);
                if (step == 0) firstLoss = output.Loss.to(ScalarType.Float32).item<float>();
                if (step == warmup + steps - 1)
                {
                    lastLoss = output.Loss.detach().MoveToOuterDisposeScope();
                    lastStats = output.RouterStats;
                }
            }
            ctx.Sync();
            if (step >= warmup) stepMs.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        var finalLoss = double.NaN;
        if (lastLoss is not null)
        {
            using (var f = lastLoss.to(ScalarType.Float32)) finalLoss = f.item<float>();
            lastLoss.Dispose();
        }
        var medianMs = Median(stepMs);
        var tokensPerSecond = (double)batch * seq * 1000 / medianMs;
        var flopsPerToken = ModelSize.TrainingFlopsPerToken(cfg, seq);
        var tflops = flopsPerToken * tokensPerSecond / 1e12;
        var peak = ctx.Peak;
        var result = Result("step", cfg, configPath, ctx, batch, seq, steps, new JsonObject
        {
            ["warmup"] = warmup,
            ["params_total"] = size.Total,
            ["params_active"] = size.ActivePerToken,
            ["flops_per_token"] = flopsPerToken,
            ["tokens_per_s"] = Round(tokensPerSecond, 1),
            ["ms_per_step"] = Round(medianMs, 3),
            ["ms_per_step_mean"] = Round(stepMs.Count == 0 ? double.NaN : stepMs.Average(), 3),
            ["tflops"] = Round(tflops, 4),
            ["peak_tflops"] = Round(peak.Tflops, 4),
            ["peak_source"] = peak.Source,
            ["mfu"] = Round(tflops / peak.Tflops, 5),
            ["loss_first"] = Round(firstLoss, 5),
            ["loss_last"] = Round(finalLoss, 5),
            ["dropped_fraction"] = Round(lastStats.Count == 0 ? 0 : lastStats.Average(s => s.DroppedFraction), 5),
        });
        BenchContext.Log($"step: {cfg.Name}: {tokensPerSecond:F0} tokens/s, {medianMs:F1} ms/step (median), "
            + $"{tflops:F3} TFLOP/s, MFU {100 * tflops / peak.Tflops:F1}%, loss {firstLoss:F3} -> {finalLoss:F3}");
        return result;
    }

    /// <summary>
    /// One MoE layer against one dense SwiGLU with as many active feed-forward parameters: hidden = (experts a token
    /// uses) x expert_hidden + shared experts' hidden. Same input, forward + backward (input gradient included).
    /// </summary>
    public static JsonObject MoeVsDense(BenchContext ctx, string configPath, int batch, int seq, int steps, int warmup, long seed)
    {
        var cfg = ctx.LoadConfig(configPath);
        var m = cfg.Moe ?? throw new UsageException($"{configPath} has no moe section: nothing to compare");
        var used = m.Router.Gating == Gating.Soft ? m.NumExperts : m.TopK;
        long d = cfg.DModel, denseHidden = (long)used * m.ExpertHidden + (long)m.NumSharedExperts * m.SharedHidden;
        var outStd = cfg.InitStd / Math.Sqrt(2.0 * cfg.NLayers);
        BenchContext.Log($"moe-vs-dense: {cfg.Name}: {m.NumExperts} experts top-{used} x {m.ExpertHidden} + {m.NumSharedExperts} shared "
            + $"vs SwiGLU {denseHidden}, {batch} x {seq} tokens, {ctx.DtypeName} on {ctx.DeviceName}");

        manual_seed(seed);
        using var moe = new MoELayer(d, m, cfg.InitStd, outStd);
        using var dense = new SwiGLU(d, denseHidden, cfg.InitStd, outStd);
        moe.to(ctx.Device);
        dense.to(ctx.Device);
        if (ctx.Dtype != ScalarType.Float32)
        {
            moe.to(ctx.Dtype);
            moe.Router.to(ScalarType.Float32); // as MoeTransformer.ToComputeDtype keeps it
            dense.to(ctx.Dtype);
        }
        moe.train();
        dense.train();
        using var x = randn(batch, seq, d, dtype: ctx.Dtype, device: ctx.Device);

        Tensor MoeStep()
        {
            var input = x.detach().requires_grad_(true);
            var (y, aux) = moe.forward(input);
            (y.to(ScalarType.Float32).pow(2).mean() + aux.AuxLoss).backward();
            moe.zero_grad();
            return aux.Stats;
        }
        Tensor? DenseStep()
        {
            var input = x.detach().requires_grad_(true);
            dense.forward(input).to(ScalarType.Float32).pow(2).mean().backward();
            dense.zero_grad();
            return null;
        }
        // Interleaved, so that whatever else the machine does slows both alike; medians of single iterations.
        var moeTimes = new List<double>();
        var denseTimes = new List<double>();
        Tensor? stats = null;
        ctx.Sync();
        for (var i = 0; i < warmup + steps; i++)
        {
            var moeMsOne = TimeOne(ctx, MoeStep, i == warmup + steps - 1, ref stats);
            Tensor? none = null;
            var denseMsOne = TimeOne(ctx, DenseStep, false, ref none);
            if (i < warmup) continue;
            moeTimes.Add(moeMsOne);
            denseTimes.Add(denseMsOne);
        }
        double dropped = 0;
        if (stats is not null)
        {
            using (var s = stats.cpu())
            {
                var v = s.data<float>().ToArray();
                dropped = v[m.NumExperts + 1] == 0 ? 0 : v[m.NumExperts] / v[m.NumExperts + 1];
            }
            stats.Dispose();
        }
        var moeMs = Median(moeTimes);
        var denseMs = Median(denseTimes);

        var tokens = (double)batch * seq;
        var moeActive = (long)m.NumExperts * d + 3 * d * denseHidden;
        var result = Result("moe_vs_dense", cfg, configPath, ctx, batch, seq, steps, new JsonObject
        {
            ["num_experts"] = m.NumExperts,
            ["experts_used"] = used,
            ["expert_hidden"] = m.ExpertHidden,
            ["dense_hidden"] = denseHidden,
            ["moe_active_params"] = moeActive,
            ["dense_params"] = 3 * d * denseHidden,
            ["moe_ms"] = Round(moeMs, 3),
            ["dense_ms"] = Round(denseMs, 3),
            ["moe_tokens_per_s"] = Round(tokens / moeMs * 1000, 1),
            ["dense_tokens_per_s"] = Round(tokens / denseMs * 1000, 1),
            ["ratio"] = Round(moeMs / denseMs, 4),
            ["moe_dropped_fraction"] = Round(dropped, 5),
        });
        BenchContext.Log($"moe-vs-dense: {cfg.Name}: MoE {moeMs:F2} ms, dense {denseMs:F2} ms, MoE/dense {moeMs / denseMs:F2}x");
        return result;
    }

    /// <summary>Milliseconds of one call of <paramref name="step"/> in its own dispose scope, device work included.</summary>
    /// <param name="keep">Receives the tensor the call returned when <paramref name="keepResult"/> is set (the caller disposes it).</param>
    static double TimeOne(BenchContext ctx, Func<Tensor?> step, bool keepResult, ref Tensor? keep)
    {
        var stopwatch = Stopwatch.StartNew();
        using (NewDisposeScope())
        {
            var result = step();
            if (keepResult && result is not null) keep = result.MoveToOuterDisposeScope();
        }
        ctx.Sync();
        return stopwatch.Elapsed.TotalMilliseconds;
    }

    public static double Median(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>A JSON number rounded to <paramref name="digits"/>, or null for NaN/infinity (which JSON cannot hold).</summary>
    public static JsonNode? Round(double v, int digits) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, digits)) : null;
    /// <summary>A JSON result line: the fields every measurement shares, then its own.</summary>
    static JsonObject Result(string kind, ModelConfig cfg, string configPath, BenchContext ctx, int batch, int seq, int steps, JsonObject own)
    {
        var result = new JsonObject
        {
            ["kind"] = kind,
            ["impl"] = "torchsharp",
            ["config"] = cfg.Name,
            ["config_path"] = configPath,
            ["device"] = ctx.DeviceName,
            ["dtype"] = ctx.DtypeName,
            ["threads"] = get_num_threads(),
            ["batch"] = batch,
            ["seq"] = seq,
            ["steps"] = steps,
        };
        foreach (var key in own.Select(p => p.Key).ToList())
        {
            var value = own[key];
            own.Remove(key);
            result[key] = value;
        }
        return result;
    }
}

static class Commands
{
    public static int Step(BenchArgs a)
    {
        var config = a.Require("config");
        var (batch, seq, steps, warmup) = (a.Int("batch", 8), a.Int("seq", 128), a.Int("steps", 10), a.Int("warmup", 3));
        var seed = a.Int("seed", 0);
        var ctx = BenchContext.Create(a);
        a.ThrowIfUnread();
        var r = Measure.TrainingSteps(ctx, config, batch, seq, steps, warmup, seed);
        ctx.Emit(r);
        Console.WriteLine($"{r["config"]}: {r["tokens_per_s"]} tokens/s, {r["ms_per_step"]} ms/step, {Flops(r["flops_per_token"])} FLOPs/token, "
            + $"{r["tflops"]} TFLOP/s, MFU {Percent(r["mfu"])} (peak {r["peak_tflops"]} TFLOP/s, {r["peak_source"]})");
        ctx.Finish();
        return 0;
    }

    public static int MoeVsDense(BenchArgs a)
    {
        var config = a.Require("config");
        var (batch, seq, steps, warmup) = (a.Int("batch", 8), a.Int("seq", 128), a.Int("steps", 10), a.Int("warmup", 3));
        var seed = a.Int("seed", 0);
        var ctx = BenchContext.Create(a);
        a.ThrowIfUnread();
        var r = Measure.MoeVsDense(ctx, config, batch, seq, steps, warmup, seed);
        ctx.Emit(r);
        Console.WriteLine($"{r["config"]}: MoE layer {r["moe_ms"]} ms vs dense SwiGLU({r["dense_hidden"]}) {r["dense_ms"]} ms: "
            + $"MoE/dense {r["ratio"]}x (dropped {Percent(r["moe_dropped_fraction"])})");
        ctx.Finish();
        return 0;
    }

    public static int PeakOnly(BenchArgs a)
    {
        var ctx = BenchContext.Create(a);
        a.ThrowIfUnread();
        var peak = ctx.Peak;
        ctx.Emit(new JsonObject
        {
            ["kind"] = "peak", ["impl"] = "torchsharp", ["device"] = ctx.DeviceName,
            ["peak_tflops"] = Measure.Round(peak.Tflops, 4), ["peak_source"] = peak.Source,
        });
        Console.WriteLine($"peak {peak.Tflops:F3} TFLOP/s ({peak.Source}) on {ctx.DeviceName}");
        ctx.Finish();
        return 0;
    }

    public static string Percent(JsonNode? fraction) => fraction is null ? "-" : $"{100 * fraction.GetValue<double>():F1}%";

    public static string Flops(JsonNode? flops) => flops is null ? "-" : $"{flops.GetValue<double>() / 1e6:F1}M";
}
