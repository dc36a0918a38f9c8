using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Moe.Model.Config;
using Moe.Platform;
using Moe.Platform.Scheduling;

namespace Moe.Web.Runs;

/// <summary>A whole run config to start from, with the resources it is meant for.</summary>
public sealed record RunPreset(string Name, string? Description, JsonObject Config, ResourceRequest Resources);

/// <summary>
/// The presets the API and the launch form offer: run presets (Presets/*.json: "tiny-cpu", "small-gpu") and model
/// presets (the repository's configs/*.json and configs/gpu/*.json: "mixtral", "gpu/deepseek-v3"), and the one way a
/// submitted config becomes a self-contained run config: preset, then the request's config merged over it, then a
/// model named by preset inlined, then dotted overrides ("model.moe.top_k": 1).
/// </summary>
public sealed class RunPresets
{
    const string ResourcesKey = "_resources";
    readonly string _runDirectory, _modelDirectory;

    public RunPresets() : this(Path.Combine(AppContext.BaseDirectory, "Presets"), Path.Combine(AppContext.BaseDirectory, "presets", "models")) { }

    public RunPresets(string runDirectory, string modelDirectory) => (_runDirectory, _modelDirectory) = (runDirectory, modelDirectory);

    public IReadOnlyList<RunPreset> RunPresetList() =>
        Directory.Exists(_runDirectory)
            ? Directory.EnumerateFiles(_runDirectory, "*.json").Order(StringComparer.Ordinal).Select(f => LoadRunPreset(Path.GetFileNameWithoutExtension(f))).ToList()
            : [];

    /// <summary>Model preset names: "default", "mixtral", ..., "gpu/mixtral", ...</summary>
    public IReadOnlyList<string> ModelPresetNames() =>
        Directory.Exists(_modelDirectory)
            ? Directory.EnumerateFiles(_modelDirectory, "*.json", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(_modelDirectory, f)[..^5].Replace('\\', '/')).Order(StringComparer.Ordinal).ToList()
            : [];

    public RunPreset LoadRunPreset(string name)
    {
        var file = Path.Combine(_runDirectory, $"{name}.json");
        if (!IsPresetName(name) || !File.Exists(file))
            throw new PlatformException("preset", $"unknown run preset '{name}'; known: {string.Join(", ", RunPresetList().Select(p => p.Name))}");
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(file))!;
        var resources = config[ResourcesKey] is JsonObject r
            ? new ResourceRequest(r["gpus"]?.GetValue<int>() ?? 0, GigabytesToBytes(r["gpu_memory_gb"]?.GetValue<double>() ?? 0), r["cpu_slots"]?.GetValue<int>() ?? 1)
            : new ResourceRequest(0, 0, 1);
        config.Remove(ResourcesKey);
        return new RunPreset(name, config["_comment"]?.GetValue<string>(), config, resources);
    }

    public JsonObject LoadModelPreset(string name)
    {
        var file = Path.Combine(_modelDirectory, $"{name}.json");
        if (!IsPresetName(name) || !File.Exists(file))
            throw new PlatformException("config.model", $"unknown model preset '{name}'; give the model object, or one of: {string.Join(", ", ModelPresetNames())}");
        return (JsonObject)JsonNode.Parse(File.ReadAllText(file))!;
    }

    /// <summary>The run config to submit: see the class summary. Throws naming the field for each problem.</summary>
    public JsonObject Compose(string? preset, JsonObject? config, IReadOnlyDictionary<string, JsonNode?>? overrides)
    {
        if (preset is null && config is null) throw new PlatformException("config", "give a run config, a preset, or both");
        var composed = preset is null ? new JsonObject() : LoadRunPreset(preset).Config;
        if (config is not null) MergeInto(composed, (JsonObject)config.DeepClone());
        if (composed["model"] is JsonValue modelName && modelName.TryGetValue<string>(out var name)) composed["model"] = LoadModelPreset(name);
        foreach (var (path, value) in overrides ?? new Dictionary<string, JsonNode?>())
            SetPath(composed, path, value?.DeepClone());
        return composed;
    }

    /// <summary>Deep merge: objects merge key by key; anything else (arrays included) replaces.</summary>
    public static void MergeInto(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source.ToList())
        {
            source.Remove(key);
            if (value is JsonObject child && target[key] is JsonObject existing) MergeInto(existing, child);
            else target[key] = value;
        }
    }

    /// <summary>Sets "a.b.c" in <paramref name="root"/>, creating objects on the way; "a.list[1].x" indexes arrays.</summary>
    public static void SetPath(JsonObject root, string path, JsonNode? value)
    {
        if (ConfigLoader.OverridePathProblem(path) is { } problem)
            throw new PlatformException(path.Length <= 80 ? $"overrides.{path}" : "overrides", problem);
        string field = $"overrides.{path}";
        var parts = path.Split('.');
        JsonNode current = root;
        for (int i = 0; i < parts.Length; i++)
        {
            var (key, index) = SplitIndex(parts[i], field);
            bool last = i == parts.Length - 1;
            var obj = current as JsonObject ?? throw new PlatformException(field, $"'{string.Join('.', parts[..i])}' is not an object");
            if (index is null)
            {
                if (last) { obj[key] = value; return; }
                current = obj[key] ??= new JsonObject();
                continue;
            }
            var array = obj[key] as JsonArray ?? throw new PlatformException(field, $"'{key}' is not a list");
            if (index.Value >= array.Count) throw new PlatformException(field, $"'{key}' has {array.Count} item(s), no [{index}]");
            if (last) { array[index.Value] = value; return; }
            current = array[index.Value] ?? throw new PlatformException(field, $"'{key}[{index}]' is null");
        }
    }

    static (string Key, int? Index) SplitIndex(string part, string field)
    {
        int open = part.IndexOf('[');
        if (open < 0) return (part, null);
        if (!part.EndsWith(']') || !int.TryParse(part[(open + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            throw new PlatformException(field, $"'{part}' is not name[index]");
        return (part[..open], index);
    }

    /// <summary>GiB as bytes, refused (naming <paramref name="field"/>) unless finite and within a GPU's possible memory.</summary>
    public static long GigabytesToBytes(double gigabytes, string field = "resources.gpu_memory_gb")
    {
        const double max = ResourceRequest.MaxGpuMemoryBytes / (double)(1L << 30);
        if (!double.IsFinite(gigabytes) || gigabytes is < 0 or > max) throw new PlatformException(field, $"must be between 0 and {max} GiB, got {gigabytes}");
        return (long)Math.Round(gigabytes * (1L << 30));
    }

    static bool IsPresetName(string name) =>
        name.Length is > 0 and <= 64 && !name.Contains("..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/' or '.') && !name.StartsWith('/');
}
