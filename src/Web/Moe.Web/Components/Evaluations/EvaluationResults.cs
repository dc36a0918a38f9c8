using System.Globalization;
using System.Text.Json.Nodes;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Portal;

namespace Moe.Web.Components.Evaluations;

/// <summary>
/// The parts of an evaluator's JSON (docs/evaluation.md) a results row expands to: each MoE layer's balance on the
/// validation windows and the first arithmetic problems. Missing parts are empty.
/// </summary>
public sealed record EvaluationResults(string? Data, int? Windows, IReadOnlyList<LayerBalance> Router, ArithmeticResults? Arithmetic)
{
    public static EvaluationResults Parse(JsonNode? results)
    {
        if (results is not JsonObject root) return new(null, null, [], null);
        var router = JsonRead.Array(root["router"]).OfType<JsonObject>().Select((l, i) => new LayerBalance(JsonRead.Int(l["layer"]) ?? i,
            JsonRead.Doubles(l["load"], 0), JsonRead.Double(l["max_over_mean"]), JsonRead.Double(l["drop_fraction"]), JsonRead.Double(l["entropy"]))).ToList();
        ArithmeticResults? arithmetic = root["arithmetic"] is JsonObject a
            ? new ArithmeticResults(JsonRead.Int(a["problems"]), JsonRead.Int(a["correct"]), JsonRead.Double(a["exact_match"]),
                JsonRead.Array(a["examples"]).OfType<JsonObject>().Select(x => new ArithmeticExample(JsonRead.Text(x["prompt"]) ?? "",
                    JsonRead.Text(x["completion"]) ?? "", JsonRead.Text(x["answer"]) ?? "", JsonRead.Long(x["predicted"]),
                    x["correct"] is JsonValue c && c.TryGetValue<bool>(out var ok) && ok)).ToList())
            : null;
        return new(JsonRead.Text(root["data"]), JsonRead.Int(root["windows"]), router, arithmetic);
    }

    /// <summary>What a schedule evaluates: the run's newest checkpoint, or model@version (newest when none).</summary>
    public static string Target(ScheduleView s) => s.RunId is { } run ? $"run {run} (newest checkpoint)" : $"{s.ModelName}@{s.ModelVersion ?? "newest"}";

    /// <summary>What an evaluation evaluated: model vN, else the run.</summary>
    public static string Target(EvaluationView e) => e.Model is { } model ? $"{model} v{e.ModelVersion}" : e.RunId ?? "—";

    public static string Dataset(ScheduleView s) => s.DatasetId is { } id ? $"{id}@{(s.DatasetVersion is { } v ? v.ToString(CultureInfo.InvariantCulture) : "newest")}" : "—";

    public static string Status(JobStatus status) => status.ToString().ToLowerInvariant();

    public static bool IsActive(JobStatus status) => status is JobStatus.Queued or JobStatus.Running;
}

public sealed record LayerBalance(int Layer, IReadOnlyList<double?> Load, double? MaxOverMean, double? DropFraction, double? Entropy);

public sealed record ArithmeticResults(int? Problems, int? Correct, double? ExactMatch, IReadOnlyList<ArithmeticExample> Examples);

public sealed record ArithmeticExample(string Prompt, string Completion, string Answer, long? Predicted, bool Correct);
