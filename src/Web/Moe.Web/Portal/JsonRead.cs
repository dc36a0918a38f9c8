using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Web.Portal;

/// <summary>
/// Lenient reads of JSON values (run configs, the trainer's results, stored analyses): a wrong type, a missing value or
/// a non-finite number is null. One place, so every page reads a config the same way.
/// </summary>
public static class JsonRead
{
    public static IReadOnlyList<JsonNode?> Array(JsonNode? node) => node is JsonArray array ? array.ToList() : [];

    public static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static bool? Bool(JsonNode? node) => node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    public static double? Double(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : null;

    public static long? Long(JsonNode? node) => Double(node) is { } d && d == Math.Floor(d) && Math.Abs(d) < 9e15 ? (long)d : null;

    public static int? Int(JsonNode? node) => Long(node) is { } l and >= int.MinValue and <= int.MaxValue ? (int)l : null;

    /// <summary>The numbers of an array (null for a non-number), padded with nulls to at least <paramref name="length"/>.</summary>
    public static IReadOnlyList<double?> Doubles(JsonNode? node, int length)
    {
        var values = Array(node).Select(Double).ToList();
        while (values.Count < length) values.Add(null);
        return values;
    }
}
