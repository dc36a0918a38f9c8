using System.Globalization;
using System.Text.Json.Nodes;
using Moe.Model.Checkpoints;
using Moe.Model.Config;
using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Bench;

/// <summary>
/// Writes everything bench/reference/moe_reference.py needs to check its re-implementation against this one:
/// <list type="bullet">
/// <item>weights.safetensors: the model's state_dict (fp32), built with <c>manual_seed(seed)</c>;</item>
/// <item>config.json: the configuration (overrides applied), as ConfigLoader.Serialize writes it;</item>
/// <item>tokens.safetensors: <c>inputs</c> and <c>targets</c> [B, T] (I64), drawn with <c>manual_seed(seed + 1)</c>;</item>
/// <item>expected.safetensors: <c>logits</c> [B, T, V] (F32);</item>
/// <item>expected.json: loss, lm_loss, aux_loss, mtp_loss and per-layer routing counts.</item>
/// </list>
/// The forward runs in <b>training mode</b> (so the losses, capacity with the train factor and the MTP modules are what
/// a training step sees) under no_grad. Training mode is deterministic here: there is no dropout, and noisy top-k
/// gating, the only random part, is refused. With aux-loss-free balancing the selection biases are set to small
/// random values (seeded) so the check exercises the bias path; they travel in the weights file.
/// </summary>
static class ExportCommand
{
    public static int Run(BenchArgs a)
    {
        var configPath = a.Require("config");
        var outDir = a.Require("out");
        var (seed, batch, seq) = (a.Int("seed", 1234), a.Int("batch", 2), a.Int("seq", 64));
        var ctx = BenchContext.Create(a);
        a.ThrowIfUnread();
        if (ctx.Dtype != ScalarType.Float32) throw new UsageException("export writes fp32 references only (drop --dtype)");

        var cfg = ctx.LoadConfig(configPath);
        if (cfg.Moe?.Router.Gating == Gating.NoisyTopK)
            throw new UsageException($"{configPath}: noisy_top_k gating samples noise in training mode, so the losses are not reproducible; "
                + "export it with --set moe.router.gating=top_k");
        if (seq < 2 || seq > cfg.MaxSeqLen) throw new UsageException($"--seq must be in [2, {cfg.MaxSeqLen}] (max_seq_len)");

        BenchContext.Log($"export: {cfg.Name}, seed {seed}, batch {batch} x seq {seq}, training mode, fp32 on {ctx.DeviceName}");
        using var scope = NewDisposeScope();
        manual_seed(seed);
        using var model = new MoeTransformer(cfg);
        if (cfg.Moe?.Balance.AuxFree == true)
        {
            using var noGrad = no_grad();
            foreach (var (_, layer) in model.MoeLayers) layer.Router.Bias!.copy_(randn(cfg.Moe.NumExperts) * 0.05);
        }
        model.to(ctx.Device);
        model.train();

        manual_seed(seed + 1);
        var stream = randint(cfg.VocabSize, [batch, seq + 1], dtype: ScalarType.Int64);
        var inputs = stream.narrow(1, 0, seq).contiguous();
        var targets = stream.narrow(1, 1, seq).contiguous();

        ModelOutput output;
        using (no_grad()) output = model.Forward(inputs.to(ctx.Device), targets.to(ctx.Device));

        Directory.CreateDirectory(outDir);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt", ["config"] = cfg.Name, ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        };
        ModelWeights.Save(model, Path.Combine(outDir, "weights.safetensors"), metadata);
        File.WriteAllText(Path.Combine(outDir, "config.json"), ConfigLoader.Serialize(cfg) + "\n");
        SafeTensors.Save(Path.Combine(outDir, "tokens.safetensors"), [new("inputs", inputs), new("targets", targets)]);
        SafeTensors.Save(Path.Combine(outDir, "expected.safetensors"), [new("logits", output.Logits.to(ScalarType.Float32).cpu())]);

        var m = cfg.Moe;
        var expected = new JsonObject
        {
            ["config"] = cfg.Name,
            ["seed"] = seed,
            ["batch"] = batch,
            ["seq"] = seq,
            ["mode"] = "train",
            ["capacity"] = m is null ? "none (dense)"
                : m.Capacity.Dropless || m.Router.Gating == Gating.Soft ? "dropless"
                : $"train_factor {m.Capacity.TrainFactor.ToString(CultureInfo.InvariantCulture)}",
            ["device"] = ctx.DeviceName,
            ["torch"] = __version__,
            ["loss"] = Scalar(output.Loss),
            ["lm_loss"] = Scalar(output.LmLoss),
            ["aux_loss"] = Scalar(output.AuxLoss),
            ["mtp_loss"] = Scalar(output.MtpLoss),
            ["router"] = new JsonArray(output.RouterStats.Select(s => (JsonNode)new JsonObject
            {
                ["layer"] = s.Layer,
                ["tokens_per_expert"] = new JsonArray(s.TokensPerExpert.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()),
                ["capacity"] = s.Capacity,
                ["dropped_fraction"] = s.DroppedFraction,
            }).ToArray()),
        };
        File.WriteAllText(Path.Combine(outDir, "expected.json"), expected.ToJsonString(BenchContext.Indented) + "\n");

        var summary = $"exported {cfg.Name} to {Path.GetFullPath(outDir)}: loss {expected["loss"]}, lm {expected["lm_loss"]}, "
            + $"aux {expected["aux_loss"]}, mtp {expected["mtp_loss"]?.ToJsonString() ?? "none"}";
        Console.WriteLine(summary);
        ctx.Emit(new JsonObject { ["kind"] = "export", ["impl"] = "torchsharp", ["config"] = cfg.Name, ["out"] = Path.GetFullPath(outDir) });
        ctx.Finish();
        return 0;
    }

    static JsonNode? Scalar(Tensor? t) => t is null ? null : JsonValue.Create((double)t.to(ScalarType.Float32).cpu().item<float>());
}
