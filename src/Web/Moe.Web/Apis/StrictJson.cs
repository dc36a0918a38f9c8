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

    static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
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
