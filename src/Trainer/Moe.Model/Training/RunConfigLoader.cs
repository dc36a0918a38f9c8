using System.Text.Json;
using System.Text.Json.Nodes;
using Moe.Model.Backend;
using Moe.Model.Config;

namespace Moe.Model.Training;

/// <summary>
/// Reads a <see cref="RunConfig"/>: inlines <c>model</c> when it names a file, applies dotted overrides
/// (<c>training.lr=1e-3</c>, <c>model.moe.top_k=4</c>), resolves relative paths against the config's folder, validates.
/// </summary>
public static class RunConfigLoader
{
    public static RunConfig LoadFile(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path)) throw new ConfigException("config", $"file '{path}' does not exist");
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Parse(File.ReadAllText(path), baseDir, overrides, path);
    }

    public static RunConfig Parse(string json, string baseDir, IEnumerable<string>? overrides = null, string source = "config")
    {
        var obj = ConfigLoader.ParseObject(json, source);
        if (obj["model"] is JsonValue modelRef && modelRef.TryGetValue<string>(out var modelPath))
        {
            var full = Resolve(modelPath, baseDir, "model");
            if (!File.Exists(full)) throw new ConfigException("model", $"model config '{full}' does not exist");
            obj["model"] = ConfigLoader.ParseObject(File.ReadAllText(full), full);
        }
        foreach (var assignment in overrides ?? []) ConfigLoader.ApplyOverride(obj, assignment);
        var config = ConfigLoader.Deserialize<RunConfig>(obj, source);
        config = config with
        {
            Tokenizer = Resolve(config.Tokenizer, baseDir, "tokenizer"),
            Data = config.Data with { Datasets = config.Data.Datasets.Select((d, i) => d with { Path = Resolve(d.Path, baseDir, $"data.datasets[{i}].path") }).ToList() },
        };
        ThrowIfInvalid(config);
        return config;
    }

    static string Resolve(string path, string baseDir, string field) =>
        string.IsNullOrWhiteSpace(path) ? path
        : path.Contains('\0') ? throw new ConfigException(field, "is not a valid path: it contains a NUL character")
        : Path.GetFullPath(path, baseDir);

    public static string Serialize(RunConfig config) => JsonSerializer.Serialize(config, ConfigLoader.Json);

    public static RunConfig Deserialize(string json) =>
        JsonSerializer.Deserialize<RunConfig>(json, ConfigLoader.Json) ?? throw new ConfigException("config", "is empty");

    public static void ThrowIfInvalid(RunConfig c)
    {
        var errors = Validate(c);
        if (errors.Count > 0)
            throw new ConfigException(errors[0].Field, string.Join("; ", errors.Select(e => e.Message)).Substring(errors[0].Field.Length + 2));
    }

    /// <summary>Bounds no real run reaches (a trillion tokens at a million per step is a million steps).</summary>
    public const int MaxSteps = 100_000_000;
    public const int MaxBatch = 1 << 20;

    /// <summary>Every problem of the run config, fields named by their JSON path (<c>training.lr</c>, <c>model.moe.top_k</c>).</summary>
    public static IReadOnlyList<ConfigException> Validate(RunConfig c)
    {
        var errors = ConfigValidator.Validate(c.Model).Select(e => new ConfigException("model." + e.Field, e.Problem)).ToList();
        void Check(bool ok, string field, string problem) { if (!ok) errors.Add(new ConfigException(field, problem)); }

        var t = c.Training;
        Check(t.Steps is >= 1 and <= MaxSteps, "training.steps", $"must be in [1, {MaxSteps}] (got {t.Steps})");
        Check(t.BatchSize is >= 1 and <= MaxBatch, "training.batch_size", $"must be in [1, {MaxBatch}] (got {t.BatchSize})");
        Check(t.SeqLen >= 1, "training.seq_len", $"must be at least 1 (got {t.SeqLen})");
        Check(t.SeqLen <= c.Model.MaxSeqLen, "training.seq_len", $"{t.SeqLen} is longer than the model's context model.max_seq_len = {c.Model.MaxSeqLen}");
        Check(t.GradAccum is >= 1 and <= MaxBatch, "training.grad_accum", $"must be in [1, {MaxBatch}] (got {t.GradAccum})");
        Check(t.Lr > 0 && double.IsFinite(t.Lr), "training.lr", $"must be positive (got {t.Lr})");
        Check(t.MinLr >= 0 && t.MinLr <= t.Lr, "training.min_lr", $"must be in [0, training.lr] (got {t.MinLr})");
        Check(t.WarmupSteps >= 0 && t.WarmupSteps <= t.Steps, "training.warmup_steps", $"must be in [0, training.steps] (got {t.WarmupSteps})");
        Check(t.WeightDecay >= 0, "training.weight_decay", $"must not be negative (got {t.WeightDecay})");
        Check(t.Beta1 is >= 0 and < 1, "training.beta1", $"must be in [0, 1) (got {t.Beta1})");
        Check(t.Beta2 is >= 0 and < 1, "training.beta2", $"must be in [0, 1) (got {t.Beta2})");
        Check(t.Eps > 0, "training.eps", $"must be positive (got {t.Eps})");
        Check(t.GradClip >= 0, "training.grad_clip", $"must not be negative (got {t.GradClip}); 0 disables clipping");
        Check(t.EvalEvery >= 1, "training.eval_every", $"must be at least 1 (got {t.EvalEvery})");
        Check(t.EvalWindows >= 1, "training.eval_windows", $"must be at least 1 (got {t.EvalWindows})");
        Check(t.CheckpointEvery >= 1, "training.checkpoint_every", $"must be at least 1 (got {t.CheckpointEvery})");
        Check(t.KeepLast >= 1, "training.keep_last", $"must be at least 1 (got {t.KeepLast})");
        try { TorchBackend.ParseDevice(t.Device); }
        catch (ArgumentException e) { errors.Add(new ConfigException("training.device", e.Message)); }

        Check(!string.IsNullOrWhiteSpace(c.Tokenizer), "tokenizer", "must name the tokenizer.json the datasets were prepared with");
        ValidateData(c.Data, Check);
        return errors;
    }

    static void ValidateData(DataConfig d, Action<bool, string, string> check)
    {
        check(d.Datasets.Count > 0, "data.datasets", "must name at least one prepared dataset");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < d.Datasets.Count; i++)
        {
            var ds = d.Datasets[i];
            check(!string.IsNullOrWhiteSpace(ds.Name), $"data.datasets[{i}].name", "must not be empty");
            check(!string.IsNullOrWhiteSpace(ds.Path), $"data.datasets[{i}].path", "must not be empty");
            check(names.Add(ds.Name), $"data.datasets[{i}].name", $"'{ds.Name}' is used twice");
        }
        if (d.Validation is { } v) check(names.Contains(v), "data.validation", $"unknown dataset '{v}' (known: {string.Join(", ", names)})");
        if (d.Mixture is not { } phases) return;
        check(phases.Count > 0, "data.mixture", "must have at least one phase (or be omitted)");
        var previous = 0.0;
        for (var p = 0; p < phases.Count; p++)
        {
            var phase = phases[p];
            var field = $"data.mixture[{p}]";
            check(phase.Until > previous && phase.Until <= 1, $"{field}.until", $"must increase and lie in (0, 1] (got {phase.Until} after {previous})");
            previous = phase.Until;
            foreach (var (name, weight) in phase.Weights)
            {
                check(names.Contains(name), $"{field}.weights", $"unknown dataset '{name}' (known: {string.Join(", ", names)})");
                check(weight >= 0 && double.IsFinite(weight), $"{field}.weights.{name}", $"must be a non-negative number (got {weight})");
            }
            check(phase.Weights.Values.Any(w => w > 0), $"{field}.weights", "at least one weight must be positive");
        }
        if (phases.Count > 0) check(phases[^1].Until == 1, $"data.mixture[{phases.Count - 1}].until", $"the last phase must end at 1 (got {phases[^1].Until})");
    }
}
