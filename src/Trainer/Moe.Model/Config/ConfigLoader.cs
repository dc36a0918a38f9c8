using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Moe.Model.Config;

/// <summary>A configuration problem, naming the offending field in its JSON spelling (e.g. <c>moe.top_k</c>).</summary>
public sealed class ConfigException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}

/// <summary>Reads a <see cref="ModelConfig"/> from JSON, applies dotted overrides, then validates it.</summary>
public static class ConfigLoader
{
    public static readonly JsonSerializerOptions Json = CreateOptions();

    static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            AllowDuplicateProperties = false, // as DocumentOptions: a key given twice is refused, not last-wins
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // null unsets an optional field (sliding_window=null); for a required one ("training": null) it is refused.
            RespectNullableAnnotations = true,
        };
        options.Converters.Add(new StrictEnumConverterFactory());
        return options;
    }

    public static ModelConfig LoadFile(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path)) throw new ConfigException("config", $"file '{path}' does not exist");
        return Parse(File.ReadAllText(path), overrides, path);
    }

    /// <param name="overrides">Assignments such as <c>moe.top_k=4</c>; the value is JSON when it parses as JSON, else a string.</param>
    public static ModelConfig Parse(string json, IEnumerable<string>? overrides = null, string source = "config")
    {
        var obj = ParseObject(json, source);
        foreach (var assignment in overrides ?? []) ApplyOverride(obj, assignment);
        var config = Deserialize<ModelConfig>(obj, source);
        ConfigValidator.ThrowIfInvalid(config);
        return config;
    }

    /// <summary>How configuration text is parsed: comments and trailing commas allowed, a key given twice refused.</summary>
    public static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, AllowDuplicateProperties = false,
    };

    /// <summary>The longest dotted override path (<c>model.moe.balance.aux_free_gamma</c> is 31), and the most parts in one.</summary>
    public const int MaxOverridePathLength = 256, MaxOverridePathDepth = 16;

    /// <summary>The JSON object of a configuration text (comments and trailing commas allowed, a key given twice refused).</summary>
    public static JsonObject ParseObject(string json, string source)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json, documentOptions: DocumentOptions); }
        catch (JsonException e) { throw new ConfigException(source, $"not valid JSON ({e.Message})"); }
        return root as JsonObject ?? throw new ConfigException(source, "must be a JSON object");
    }

    /// <summary>Why a dotted override path is refused (too long, too deep, an empty part), or null.</summary>
    public static string? OverridePathProblem(string path) =>
        path.Length > MaxOverridePathLength ? $"is longer than {MaxOverridePathLength} characters"
        : path.Split('.') is var parts && parts.Length > MaxOverridePathDepth ? $"has more than {MaxOverridePathDepth} parts"
        : path.Length == 0 || parts.Any(p => p.Trim().Length == 0) ? "is not a dotted path such as model.moe.top_k"
        : null;

    const string NullProblem = "must not be null (leave the field out for its default)";

    /// <summary>
    /// Refuses what no configuration accepts, wherever it is: null in a list, and numbers that are not finite (<c>1e400</c>
    /// reads as infinity). Null for a field is the binder's to judge (an optional field is unset by it, a required one is
    /// refused). Names the JSON path.
    /// </summary>
    public static void RejectNullsAndNonFinite(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj) RejectNullsAndNonFinite(child, path.Length == 0 ? key : $"{path}.{key}");
                break;
            case JsonArray array:
                for (int i = 0; i < array.Count; i++)
                    RejectNullsAndNonFinite(array[i] ?? throw new ConfigException($"{path}[{i}]", NullProblem), $"{path}[{i}]");
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var number) && !double.IsFinite(number):
                throw new ConfigException(path, $"must be a finite number (got {value.ToJsonString()})");
        }
    }

    /// <summary>Binds a JSON object to a configuration record; a type error, unknown field, null or non-finite number names its JSON path.</summary>
    /// <param name="fieldPrefix">Prepended to reported fields when <paramref name="obj"/> is nested (e.g. <c>model.</c>).</param>
    public static T Deserialize<T>(JsonObject obj, string source, string fieldPrefix = "")
    {
        RejectNullsAndNonFinite(obj, fieldPrefix.TrimEnd('.'));
        T? config;
        try { config = obj.Deserialize<T>(Json); }
        catch (JsonException e) { throw new ConfigException(fieldPrefix + FieldOf(e.Path), IsNullRefusal(e) ? NullProblem : Clean(e.Message)); }
        return config ?? throw new ConfigException(source, "is empty");
    }

    public static string Serialize(ModelConfig config) => JsonSerializer.Serialize(config, Json);

    /// <summary>Sets <c>field.path=value</c> in <paramref name="root"/>, creating objects along the path.</summary>
    public static void ApplyOverride(JsonObject root, string assignment)
    {
        var eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ConfigException(assignment, "an override must look like field.path=value");
        if (OverridePathProblem(assignment[..eq].Trim()) is { } problem) throw new ConfigException(assignment[..Math.Min(eq, 80)], problem);
        var path = assignment[..eq].Trim().Split('.');
        var text = assignment[(eq + 1)..].Trim();
        JsonNode? value;
        try { value = JsonNode.Parse(text, documentOptions: DocumentOptions); } catch (JsonException) { value = JsonValue.Create(text); }

        var node = root;
        for (var i = 0; i < path.Length - 1; i++)
        {
            if (node[path[i]] is not JsonObject child) node[path[i]] = child = new JsonObject();
            node = child;
        }
        node[path[^1]] = value;
    }

    // System.Text.Json's words when RespectNullableAnnotations refuses null for a required field or constructor parameter.
    static bool IsNullRefusal(JsonException e) => e.Message.Contains("null", StringComparison.Ordinal) && e.Message.Contains("allow", StringComparison.Ordinal);

    static string FieldOf(string? jsonPath) =>
        string.IsNullOrEmpty(jsonPath) || jsonPath == "$" ? "config" : jsonPath.TrimStart('$', '.');

    // System.Text.Json appends "Path: $.x | LineNumber ..." which the field name already carries.
    static string Clean(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>Enums as snake_case strings; an unknown value names the accepted ones instead of a type name.</summary>
sealed class StrictEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type t) => t.IsEnum;

    public override JsonConverter CreateConverter(Type t, JsonSerializerOptions o) =>
        (JsonConverter)Activator.CreateInstance(typeof(StrictEnumConverter<>).MakeGenericType(t))!;

    sealed class StrictEnumConverter<T> : JsonConverter<T> where T : struct, Enum
    {
        static readonly Dictionary<string, T> ByName =
            Enum.GetValues<T>().ToDictionary(v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()));

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            if (text is not null && ByName.TryGetValue(text, out var value)) return value;
            throw new JsonException($"unknown value '{text ?? reader.TokenType.ToString()}' (expected one of: {string.Join(", ", ByName.Keys)})");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteStringValue(JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString()));
    }
}
