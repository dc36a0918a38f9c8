using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Moe.Model.Config;
using Moe.Model.Training;
using Moe.Platform.Datasets;
using Moe.Web.Apis;
using Moe.Web.Runs;

namespace Moe.Web.Portal;

public enum LaunchFieldKind { Integer, Number, Choice, Flag, Dataset, Json }

/// <summary>
/// One input of the launch form: the dotted path of the run config it sets (as the API's overrides and the trainer's
/// errors spell it), or <c>resources.*</c> for the request's resources. <paramref name="Optional"/> inputs may be left
/// empty, which sets <paramref name="ClearPath"/> (or the path itself) to null.
/// </summary>
public sealed record LaunchFieldDefinition(
    string Path, string Label, string Group, LaunchFieldKind Kind, string? Help = null, IReadOnlyList<string>? Choices = null,
    bool Optional = false, string? ClearPath = null)
{
    public bool IsResource => Path.StartsWith("resources.", StringComparison.Ordinal);
}

/// <summary>An input's value (by kind: integer, number, text or choice, flag; a dataset has an id and a version) and its error.</summary>
public sealed class LaunchField(LaunchFieldDefinition definition)
{
    public LaunchFieldDefinition Definition { get; } = definition;
    public string Path => Definition.Path;
    public long? Integer { get; set; }
    public double? Number { get; set; }
    public string? Text { get; set; }
    public bool Flag { get; set; }
    public int? Version { get; set; }
    public string? Error { get; set; }

    (long?, double?, string?, bool, int?) _initial;

    /// <summary>Whether the user changed it from the value it was loaded with (the preset's, the run's or the trainer's default).</summary>
    public bool Changed => Current != _initial;

    /// <summary>Empty: an optional input left blank (or an MTP depth of 0).</summary>
    public bool IsEmpty => Definition.Kind switch
    {
        LaunchFieldKind.Integer => Integer is null or 0 && Definition.Optional,
        LaunchFieldKind.Number => Number is null,
        LaunchFieldKind.Flag => false,
        _ => string.IsNullOrWhiteSpace(Text),
    };

    (long?, double?, string?, bool, int?) Current => (Integer, Number, Text?.Trim() is { Length: > 0 } t ? t : null, Flag, Version);

    internal void Load(JsonNode? value)
    {
        (Integer, Number, Text, Flag, Version) = (null, null, null, false, null);
        switch (Definition.Kind)
        {
            case LaunchFieldKind.Integer when AsNumber(value) is { } d: Integer = (long)d; break;
            case LaunchFieldKind.Number when AsNumber(value) is { } d: Number = d; break;
            case LaunchFieldKind.Flag when value?.GetValueKind() is JsonValueKind.True or JsonValueKind.False: Flag = value.GetValueKind() == JsonValueKind.True; break;
            case LaunchFieldKind.Choice when value is JsonValue v && v.TryGetValue<string>(out var s): Text = s; break;
            case LaunchFieldKind.Dataset when value is JsonValue v && v.TryGetValue<string>(out var path):
                if (DatasetReference.IsReference(path) && TryParseReference(path) is { } reference) (Text, Version) = (reference.DatasetId, reference.Version);
                else Text = path;
                break;
            case LaunchFieldKind.Json when value is not null: Text = value.ToJsonString(); break;
        }
        _initial = Current;
        Error = null;
    }

    /// <summary>The value as the config holds it; a dataset id becomes <c>dataset:id[@version]</c>.</summary>
    public JsonNode? ToJson()
    {
        if (Definition.Optional && IsEmpty) return null;
        switch (Definition.Kind)
        {
            case LaunchFieldKind.Integer: return JsonValue.Create(Integer ?? throw new PlatformException(Path, "is required"));
            case LaunchFieldKind.Number: return JsonValue.Create(Number ?? throw new PlatformException(Path, "is required"));
            case LaunchFieldKind.Flag: return JsonValue.Create(Flag);
            case LaunchFieldKind.Choice: return Text is null ? null : JsonValue.Create(Text);
            case LaunchFieldKind.Dataset:
                var text = Text?.Trim() ?? "";
                // An id ("brown") is a platform dataset; anything with ':' or '/' is taken as written (a reference or a path).
                return JsonValue.Create(text.Length == 0 || text.Contains(':') || text.Contains('/') ? text
                    : new DatasetReference(text, Version).ToString());
            default:
                try { return JsonNode.Parse(Text!, documentOptions: ConfigLoader.DocumentOptions); }
                catch (JsonException e) { throw new PlatformException(Path, $"is not valid JSON: {e.Message}"); }
        }
    }

    // A parsed config holds JSON elements, a composed one CLR values (an override's long): read either by its JSON text.
    static double? AsNumber(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture) : null;

    static DatasetReference? TryParseReference(string path)
    {
        try { return DatasetReference.Parse(path, "path"); }
        catch (PlatformException) { return null; }
    }
}

/// <summary>
/// The launch form's logic, apart from its markup: the inputs (grouped as the form shows them), their values loaded from a
/// run preset or an earlier run's config, the request they make (the preset plus dotted overrides of only the inputs the
/// user changed, so the API composes and validates exactly what the form shows), and the API's refusals placed at the
/// input they name.
/// </summary>
public sealed class LaunchForm
{
    public static readonly IReadOnlyList<string> Groups = ["Model", "MoE", "Data", "Schedule", "Resources"];

    /// <summary>The inputs, with the trainer's own JSON names; choices are the trainer's enum spellings.</summary>
    public static readonly IReadOnlyList<LaunchFieldDefinition> Definitions =
    [
        new("model.d_model", "d_model", "Model", LaunchFieldKind.Integer),
        new("model.n_layers", "Layers", "Model", LaunchFieldKind.Integer),
        new("model.n_heads", "Attention heads", "Model", LaunchFieldKind.Integer),
        new("model.n_kv_heads", "Key/value heads (GQA)", "Model", LaunchFieldKind.Integer, "empty: as many as attention heads", Optional: true),
        new("model.vocab_size", "Vocabulary size", "Model", LaunchFieldKind.Integer, "must match the dataset's tokenizer"),
        new("model.max_seq_len", "Max sequence length", "Model", LaunchFieldKind.Integer),
        new("model.ffn_hidden", "Dense FFN hidden", "Model", LaunchFieldKind.Integer),
        new("model.moe.num_experts", "Experts", "MoE", LaunchFieldKind.Integer),
        new("model.moe.top_k", "Top-k", "MoE", LaunchFieldKind.Integer),
        new("model.moe.num_shared_experts", "Shared experts", "MoE", LaunchFieldKind.Integer),
        new("model.moe.expert_hidden", "Expert hidden", "MoE", LaunchFieldKind.Integer, "fine-grained segments: narrower experts than the dense FFN"),
        new("model.moe.every", "MoE layer stride", "MoE", LaunchFieldKind.Integer, "every P-th block is MoE (Switch 2, Mixtral 1)"),
        new("model.moe.first_dense_blocks", "First dense blocks", "MoE", LaunchFieldKind.Integer),
        new("model.moe.capacity.train_factor", "Capacity factor (train)", "MoE", LaunchFieldKind.Number),
        new("model.moe.capacity.eval_factor", "Capacity factor (eval)", "MoE", LaunchFieldKind.Number),
        new("model.moe.capacity.dropless", "Dropless", "MoE", LaunchFieldKind.Flag),
        new("model.moe.router.gating", "Router", "MoE", LaunchFieldKind.Choice, Choices: EnumNames<Gating>()),
        new("model.moe.router.score", "Router score", "MoE", LaunchFieldKind.Choice, Choices: EnumNames<RouterScore>()),
        new("model.moe.balance.switch_weight", "Switch aux loss weight", "MoE", LaunchFieldKind.Number),
        new("model.moe.balance.importance_weight", "Importance loss weight", "MoE", LaunchFieldKind.Number),
        new("model.moe.balance.z_loss_weight", "Router z-loss weight", "MoE", LaunchFieldKind.Number),
        new("model.moe.balance.aux_free", "Aux-loss-free balancing", "MoE", LaunchFieldKind.Flag),
        new("model.moe.balance.aux_free_gamma", "Aux-free bias update rate", "MoE", LaunchFieldKind.Number),
        new("model.mtp.depth", "MTP depth", "MoE", LaunchFieldKind.Integer, "multi-token prediction; empty or 0: off", Optional: true, ClearPath: "model.mtp"),
        new("data.datasets[0].path", "Dataset", "Data", LaunchFieldKind.Dataset, "a dataset id; the newest ready version when none is given"),
        new("data.mixture", "Mixture (JSON)", "Data", LaunchFieldKind.Json, "curriculum phases [{\"until\": 1, \"weights\": {...}}]; empty: by tokens", Optional: true),
        new("training.steps", "Steps", "Schedule", LaunchFieldKind.Integer),
        new("training.batch_size", "Batch size", "Schedule", LaunchFieldKind.Integer),
        new("training.seq_len", "Sequence length", "Schedule", LaunchFieldKind.Integer),
        new("training.lr", "Learning rate", "Schedule", LaunchFieldKind.Number),
        new("training.min_lr", "Min learning rate", "Schedule", LaunchFieldKind.Number),
        new("training.warmup_steps", "Warmup steps", "Schedule", LaunchFieldKind.Integer),
        new("training.eval_every", "Eval interval (steps)", "Schedule", LaunchFieldKind.Integer),
        new("training.checkpoint_every", "Checkpoint interval (steps)", "Schedule", LaunchFieldKind.Integer),
        new("resources.gpus", "GPUs", "Resources", LaunchFieldKind.Integer),
        new("resources.gpu_memory_gb", "GPU memory (GB each)", "Resources", LaunchFieldKind.Number),
        new("resources.cpu_slots", "CPU slots", "Resources", LaunchFieldKind.Integer),
    ];

    /// <summary>The inputs outside the groups; refusals naming them show there too.</summary>
    public static readonly IReadOnlyList<string> RequestFields = ["experiment_id", "preset", "name", "priority", "config.model"];

    /// <summary>What the trainer assumes for a field a config leaves out (its records' own defaults, MoE and MTP on).</summary>
    static readonly JsonObject TrainerDefaults = (JsonObject)JsonSerializer.SerializeToNode(
        new RunConfig { Model = new ModelConfig { Moe = new MoeConfig() } }, ConfigLoader.Json)!;

    readonly Dictionary<string, string> _requestErrors = new(StringComparer.Ordinal);
    ResourcesRequest _baseResources = new();

    public LaunchForm() => Fields = Definitions.Select(d => new LaunchField(d)).ToList();

    public IReadOnlyList<LaunchField> Fields { get; }
    public string? ExperimentId { get; set; }
    /// <summary>The run preset started from; null when starting from an earlier run's config.</summary>
    public string? Preset { get; set; }
    /// <summary>A model preset ("mixtral") replacing the preset's model; null keeps it.</summary>
    public string? ModelPreset { get; set; }
    public string? Name { get; set; }
    public int Priority { get; set; }
    /// <summary>The earlier run's config (<see cref="Preset"/> null), sent as the request's config.</summary>
    public JsonObject? SourceConfig { get; private set; }
    /// <summary>The composed config the inputs were loaded from (before overrides).</summary>
    public JsonObject BaseConfig { get; private set; } = new();
    public bool BaseHasMoe => BaseConfig["model"]?["moe"] is JsonObject;
    public List<string> GeneralErrors { get; } = [];

    public LaunchField this[string path] => Fields.FirstOrDefault(f => f.Path == path) ?? throw new KeyNotFoundException(path);

    public IEnumerable<LaunchField> InGroup(string group) => Fields.Where(f => f.Definition.Group == group);

    /// <summary>Starts from a run preset (and the model preset, if chosen): every input shows the composed value.</summary>
    public void LoadPreset(RunPresets presets, string preset)
    {
        (Preset, SourceConfig) = (preset, null);
        var resources = presets.LoadRunPreset(preset).Resources;
        Load(presets, new ResourcesRequest(resources.Gpus, BytesToGigabytes(resources.GpuMemoryBytes), resources.CpuSlots));
    }

    /// <summary>Starts from an earlier run: its config (datasets pinned as admitted) and resources.</summary>
    public void LoadRun(RunPresets presets, RunView run)
    {
        (Preset, SourceConfig) = (null, run.Config as JsonObject ?? throw new PlatformException("from_run", $"run '{run.Id}' has no config"));
        (ExperimentId, Name, Priority) = (run.ExperimentId, $"{run.Name} (copy)", run.Priority);
        Load(presets, new ResourcesRequest(run.Resources.Gpus, BytesToGigabytes(run.Resources.GpuMemoryBytes), run.Resources.CpuSlots));
    }

    /// <summary>Reloads the inputs after the model preset changed; the resources keep what the user entered.</summary>
    public void ReloadModel(RunPresets presets)
    {
        var kept = Fields.Where(f => f.Definition.IsResource).Select(f => (Field: f, f.Integer, f.Number)).ToList();
        Load(presets, _baseResources);
        foreach (var (field, integer, number) in kept) (field.Integer, field.Number) = (integer, number);
    }

    /// <summary>Loads every input from an already composed config (tests, or a caller that composed it).</summary>
    public void Load(JsonObject baseConfig, ResourcesRequest resources)
    {
        (BaseConfig, _baseResources) = (baseConfig, resources);
        foreach (var field in Fields)
        {
            field.Load(field.Definition.IsResource ? ResourceValue(resources, field.Path)
                : Read(baseConfig, field.Path) ?? (field.Definition.Optional ? null : Read(TrainerDefaults, field.Path)));
        }
        ClearErrors();
    }

    void Load(RunPresets presets, ResourcesRequest resources) => Load(presets.Compose(Preset, RequestConfig(), null), resources);

    /// <summary>The request's config: the earlier run's, and/or the chosen model preset by name; null when the preset is all.</summary>
    public JsonObject? RequestConfig()
    {
        var config = (JsonObject?)SourceConfig?.DeepClone() ?? (ModelPreset is null ? null : new JsonObject());
        if (ModelPreset is { } model && config is not null) config["model"] = model;
        return config;
    }

    /// <summary>Dotted overrides of only the inputs changed from the loaded values (resources go to the request's resources).</summary>
    public Dictionary<string, JsonNode?> Overrides()
    {
        var overrides = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var field in Fields.Where(f => f.Changed && !f.Definition.IsResource))
        {
            var value = field.ToJson();
            if (field.Definition.Kind == LaunchFieldKind.Dataset && Read(BaseConfig, "data.datasets") is not JsonArray { Count: > 0 })
            {
                // The config names no dataset yet: the list is made with this one.
                var name = value?.GetValue<string>() is { } path && TryId(path) is { } id ? id : "data";
                overrides["data.datasets"] = new JsonArray(new JsonObject { ["name"] = name, ["path"] = value });
                continue;
            }
            if (field.Definition.Kind == LaunchFieldKind.Dataset && Read(BaseConfig, "tokenizer") is JsonValue t
                && t.TryGetValue<string>(out var tokenizer) && DatasetReference.IsReference(tokenizer))
                overrides["tokenizer"] = null; // the earlier run's tokenizer was its dataset's: take the new dataset's
            overrides[field.Definition.Optional && field.IsEmpty ? field.Definition.ClearPath ?? field.Path : field.Path] = value;
        }
        return overrides;
    }

    public ResourcesRequest Resources => new((int)(this["resources.gpus"].Integer ?? 0), this["resources.gpu_memory_gb"].Number ?? 0,
        (int)(this["resources.cpu_slots"].Integer ?? 0));

    /// <summary>The request of the form: the preset (or the earlier run's config) and the changed inputs as overrides.</summary>
    public CreateRunRequest BuildRequest() => new(ExperimentId, Name?.Trim() is { Length: > 0 } n ? n : null, Preset, RequestConfig(), Overrides(), Priority,
        // Without a preset the API's default resources are 1 CPU slot, not the run's: send them then, else only when changed.
        Preset is null || Fields.Any(f => f.Definition.IsResource && f.Changed) ? Resources : null);

    /// <summary>The request of the JSON tab: the whole config as edited (no preset, no overrides) with the form's resources.</summary>
    public CreateRunRequest BuildRawRequest(string json)
    {
        JsonNode? parsed;
        try { parsed = JsonNode.Parse(json, documentOptions: ConfigLoader.DocumentOptions); } // a key given twice is refused, as the API refuses it
        catch (JsonException e) { throw new PlatformException("config", $"is not valid JSON: {e.Message}"); }
        return new(ExperimentId, Name?.Trim() is { Length: > 0 } n ? n : null, null,
            parsed as JsonObject ?? throw new PlatformException("config", "must be a JSON object"), null, Priority, Resources);
    }

    /// <summary>The config the API will validate for the current inputs (preview; throws as the API would).</summary>
    public JsonObject Compose(RunPresets presets) => presets.Compose(Preset, RequestConfig(), Overrides());

    public void ClearErrors()
    {
        foreach (var field in Fields) field.Error = null;
        _requestErrors.Clear();
        GeneralErrors.Clear();
    }

    /// <summary>The error shown at a request input (experiment_id, preset, name, priority).</summary>
    public string? ErrorOf(string field) => _requestErrors.GetValueOrDefault(field) ?? Fields.FirstOrDefault(f => f.Path == field)?.Error;

    /// <summary>
    /// Shows a refusal at the input(s) it names ("config.model.moe.top_k", "overrides.training.lr", "moe.top_k",
    /// "resources", "name"); returns them, or none when no input matches (then it is a general error).
    /// </summary>
    public IReadOnlyList<string> ShowError(string field, string problem, bool atInputs = true)
    {
        var targets = atInputs ? Resolve(field, problem) : [];
        foreach (var target in targets)
        {
            if (Fields.FirstOrDefault(f => f.Path == target) is { } input) input.Error = problem;
            else _requestErrors[target] = problem;
        }
        if (targets.Count == 0) GeneralErrors.Add($"{field}: {problem}");
        return targets;
    }

    /// <summary>The inputs an error's field names: exact, the input holding it (data.mixture[0].until), the only input under it, or by its tail.</summary>
    public IReadOnlyList<string> Resolve(string field, string problem)
    {
        if (RequestFields.Contains(field)) return [field];
        var path = field.StartsWith("config.", StringComparison.Ordinal) ? field["config.".Length..]
            : field.StartsWith("overrides.", StringComparison.Ordinal) ? field["overrides.".Length..] : field;
        if (path == "resources")
        {
            var named = Definitions.Where(d => d.IsResource && problem.StartsWith(ResourceProblemName(d.Path), StringComparison.Ordinal)).Select(d => d.Path).ToList();
            return named.Count > 0 ? named : ["resources.gpus", "resources.cpu_slots"];
        }
        if (Definitions.Any(d => d.Path == path)) return [path];
        var holder = Definitions.Where(d => path.StartsWith(d.Path + ".", StringComparison.Ordinal) || path.StartsWith(d.Path + "[", StringComparison.Ordinal))
            .MaxBy(d => d.Path.Length);
        if (holder is not null) return [holder.Path];
        var under = Definitions.Where(d => d.Path.StartsWith(path + ".", StringComparison.Ordinal) || d.Path.StartsWith(path + "[", StringComparison.Ordinal)).ToList();
        if (under.Count == 1) return [under[0].Path];
        var tail = Definitions.Where(d => d.Path.EndsWith("." + path, StringComparison.Ordinal)).ToList();
        return tail.Count == 1 ? [tail[0].Path] : [];
    }

    static string ResourceProblemName(string path) => path == "resources.gpu_memory_gb" ? "gpu_memory_bytes" : path["resources.".Length..];

    static JsonNode? ResourceValue(ResourcesRequest r, string path) => path switch
    {
        "resources.gpus" => r.Gpus,
        "resources.gpu_memory_gb" => r.GpuMemoryGb,
        _ => r.CpuSlots,
    };

    /// <summary>The node at a dotted path ("data.datasets[0].path"), or null when any part is missing.</summary>
    public static JsonNode? Read(JsonNode? root, string path)
    {
        var node = root;
        foreach (var part in path.Split('.'))
        {
            int open = part.IndexOf('[');
            node = (node as JsonObject)?[open < 0 ? part : part[..open]];
            if (open >= 0)
                node = node is JsonArray array && int.TryParse(part[(open + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < array.Count
                    ? array[i] : null;
            if (node is null) return null;
        }
        return node;
    }

    static string? TryId(string path) => DatasetReference.IsReference(path) ? path["dataset:".Length..].Split('@')[0] : null;

    static double BytesToGigabytes(long bytes) => Math.Round((double)bytes / (1L << 30), 3);

    static string[] EnumNames<T>() where T : struct, Enum => [.. Enum.GetNames<T>().Select(JsonNamingPolicy.SnakeCaseLower.ConvertName)];
}
