using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Moe.Web.Apis;

/// <summary>
/// Doubles in request bodies must be finite JSON numbers: <c>1e400</c> (which .NET reads as infinity) and the named
/// literals "NaN" and "Infinity" are refused naming the field. Responses still write a diverged run's NaN loss as "NaN".
/// </summary>
public sealed class FiniteDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number) throw new JsonException($"expected a number, got {Describe(reader.TokenType)}");
        var value = reader.GetDouble();
        return double.IsFinite(value) ? value : throw new JsonException("must be a finite number");
    }

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    /// <summary>A JSON token in words, for refusals ("expected a number, got a string").</summary>
    internal static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "a list",
        _ => token.ToString(),
    };
}

/// <summary>
/// JSON trees in request bodies (a run's config and overrides) with a key given twice are refused naming the key, as the
/// rest of a body is (<c>AllowDuplicateProperties = false</c> does not reach System.Text.Json's JsonObject, which threw).
/// </summary>
public sealed class StrictJsonNodeConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert == typeof(System.Text.Json.Nodes.JsonNode) || typeToConvert == typeof(System.Text.Json.Nodes.JsonObject)
        || typeToConvert == typeof(System.Text.Json.Nodes.JsonArray);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(NodeConverter<>).MakeGenericType(typeToConvert))!;

    sealed class NodeConverter<T> : JsonConverter<T> where T : System.Text.Json.Nodes.JsonNode
    {
        public override bool HandleNull => false;

        public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            RejectDuplicates(document.RootElement);
            var node = System.Text.Json.Nodes.JsonNode.Parse(document.RootElement.GetRawText());
            return node as T ?? throw new JsonException($"expected {(typeof(T) == typeof(System.Text.Json.Nodes.JsonArray) ? "a list" : "an object")}");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => value.WriteTo(writer, options);

        static void RejectDuplicates(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var property in element.EnumerateObject())
                    {
                        if (!seen.Add(property.Name)) throw new JsonException($"the key '{property.Name}' is given twice");
                        RejectDuplicates(property.Value);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray()) RejectDuplicates(item);
                    break;
            }
        }
    }
}

/// <summary>
/// Enums in request bodies by name only (<c>"admin"</c>, in any case): not numbers (<c>99</c>), numeric strings, padded
/// names or lists (<c>"member, admin"</c>, which System.Text.Json's own converter ORs into 3, a role no check knows).
/// A stored value without a name is written as its number rather than failing the whole answer.
/// </summary>
public sealed class NamedEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(NamedEnumConverter<>).MakeGenericType(typeToConvert))!;

    /// <summary>The names the API reads and writes for the enum (snake_case).</summary>
    public static IReadOnlyList<string> Names(Type enumType) => [.. Enum.GetNames(enumType).Select(JsonNamingPolicy.SnakeCaseLower.ConvertName)];

    sealed class NamedEnumConverter<T> : JsonConverter<T> where T : struct, Enum
    {
        static readonly Dictionary<string, T> ByName =
            Enum.GetNames<T>().ToDictionary(JsonNamingPolicy.SnakeCaseLower.ConvertName, Enum.Parse<T>, StringComparer.OrdinalIgnoreCase);

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && ByName.TryGetValue(reader.GetString()!, out var value) ? value : throw Unknown(ref reader);

        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            ByName.TryGetValue(reader.GetString()!, out var value) ? value : throw Unknown(ref reader);

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        {
            if (Name(value) is { } name) writer.WriteStringValue(name);
            else writer.WriteNumberValue(Number(value));
        }

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WritePropertyName(Name(value) ?? Number(value).ToString(CultureInfo.InvariantCulture));

        static string? Name(T value) => Enum.IsDefined(value) ? JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString()) : null;

        static long Number(T value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);

        static JsonException Unknown(ref Utf8JsonReader reader) => new(
            $"{(reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName ? $"'{reader.GetString()}'" : FiniteDoubleConverter.Describe(reader.TokenType))}"
            + $" is not one of {string.Join(", ", ByName.Keys)} (by name)");
    }
}
