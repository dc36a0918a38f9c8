using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Moe.Model.Backend;
using Moe.Model.Config;
using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Model.Checkpoints;

/// <summary>
/// Writes everything bench/reference/moe_reference.py needs to check its re-implementation against this one
/// (<c>Moe.Bench export</c> and the PyTorch reference tests both call it):
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
public static class ReferenceExport
{
    public const string WeightsFile = "weights.safetensors";
    public const string ConfigFile = "config.json";
    public const string TokensFile = "tokens.safetensors";
    public const string LogitsFile = "expected.safetensors";
    public const string ExpectedFile = "expected.json";

    public const long DefaultSeed = 1234;

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Why this configuration and sequence length cannot be exported, or null when they can.</summary>
    public static string? Refusal(ModelConfig cfg, int seq)
    {
        if (cfg.Moe?.Router.Gating == Gating.NoisyTopK)
            return "noisy_top_k gating samples noise in training mode, so the losses are not reproducible; "
                + "export it with the override moe.router.gating=top_k";
        if (seq < 2 || seq > cfg.MaxSeqLen) return $"seq must be in [2, {cfg.MaxSeqLen}] (max_seq_len), got {seq}";
        return null;
    }

    /// <summary>
    /// Builds the model of <paramref name="cfg"/> in fp32 on <paramref name="device"/> (CPU when null), runs one
    /// training-mode forward on seeded tokens and writes the five files into <paramref name="outDir"/> (created if
    /// needed). Reseeds TorchSharp's global generator. Returns the content of expected.json.
    /// </summary>
    /// <exception cref="ArgumentException">The configuration or sequence length is refused (see <see cref="Refusal"/>).</exception>
    public static JsonObject Write(ModelConfig cfg, string outDir, long seed = DefaultSeed, int batch = 2, int seq = 64,
        DeviceSpec? device = null)
    {
        if (Refusal(cfg, seq) is { } reason) throw new ArgumentException($"{cfg.Name}: {reason}");
        if (batch < 1) throw new ArgumentException($"batch must be at least 1, got {batch}");
        device ??= new DeviceSpec(DeviceType.CPU, -1);

        using var scope = NewDisposeScope();
        manual_seed(seed);
        using var model = new MoeTransformer(cfg);
        if (cfg.Moe?.Balance.AuxFree == true)
        {
            using var noGrad = no_grad();
            foreach (var (_, layer) in model.MoeLayers) layer.Router.Bias!.copy_(randn(cfg.Moe.NumExperts) * 0.05);
        }
        model.to(device.ToTorch());
        model.train();

        manual_seed(seed + 1);
        var stream = randint(cfg.VocabSize, [batch, seq + 1], dtype: ScalarType.Int64);
        var inputs = stream.narrow(1, 0, seq).contiguous();
        var targets = stream.narrow(1, 1, seq).contiguous();

        ModelOutput output;
        using (no_grad()) output = model.Forward(inputs.to(device.ToTorch()), targets.to(device.ToTorch()));

        Directory.CreateDirectory(outDir);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt", ["config"] = cfg.Name, ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        };
        ModelWeights.Save(model, Path.Combine(outDir, WeightsFile), metadata);
        File.WriteAllText(Path.Combine(outDir, ConfigFile), ConfigLoader.Serialize(cfg) + "\n");
        SafeTensors.Save(Path.Combine(outDir, TokensFile), [new("inputs", inputs), new("targets", targets)]);
        SafeTensors.Save(Path.Combine(outDir, LogitsFile), [new("logits", output.Logits.to(ScalarType.Float32).cpu())]);

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
            ["device"] = device.ToString(),
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
        File.WriteAllText(Path.Combine(outDir, ExpectedFile), expected.ToJsonString(Indented) + "\n");
        return expected;
    }

    static JsonNode? Scalar(Tensor? t) => t is null ? null : JsonValue.Create((double)t.to(ScalarType.Float32).cpu().item<float>());
}
