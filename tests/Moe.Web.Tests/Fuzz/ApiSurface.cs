using System.Text.Json.Nodes;

namespace Moe.Web.Tests.Fuzz;

/// <summary>One operation of the app's own OpenAPI document.</summary>
public sealed record ApiOperation(string Method, string Template, IReadOnlyList<ApiParameter> Parameters, JsonObject? Body, bool BodyRequired,
    string Summary)
{
    public IEnumerable<ApiParameter> PathParameters => Parameters.Where(p => p.In == "path");
    public IEnumerable<ApiParameter> QueryParameters => Parameters.Where(p => p.In == "query");
    public bool IsRead => Method == "GET";

    /// <summary>The caller's own account (/me): any signed-in user may write there.</summary>
    public bool IsSelfService => Template.StartsWith("/api/v1/me", StringComparison.Ordinal);

    /// <summary>Takes its body as multipart/form-data, which the document cannot describe (the handler reads the form itself).</summary>
    public bool IsUpload => Summary.Contains("multipart", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Method} {Template}";
}

public sealed record ApiParameter(string Name, string In, JsonObject Schema)
{
    public string Type => ApiSurface.TypeOf(Schema);
    public string? Format => Schema["format"]?.GetValue<string>();
}

/// <summary>Reads operations and schemas out of an OpenAPI 3.1 document (references and nullable unions resolved).</summary>
public static class ApiSurface
{
    public static List<ApiOperation> Operations(JsonNode document, string prefix = "/api/v1")
    {
        var operations = new List<ApiOperation>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            if (!path.StartsWith(prefix, StringComparison.Ordinal)) continue;
            foreach (var (method, operation) in item!.AsObject())
            {
                var parameters = (operation!["parameters"]?.AsArray() ?? []).Select(p => new ApiParameter(
                    p!["name"]!.GetValue<string>(), p["in"]!.GetValue<string>(), Resolve(document, p["schema"]))).ToList();
                var body = operation["requestBody"]?["content"]?["application/json"]?["schema"];
                operations.Add(new ApiOperation(method.ToUpperInvariant(), path, parameters, body is null ? null : Resolve(document, body),
                    operation["requestBody"]?["required"]?.GetValue<bool>() ?? false, operation["summary"]?.GetValue<string>() ?? ""));
            }
        }
        return operations;
    }

    /// <summary>The schema itself: <c>$ref</c> followed, <c>oneOf [null, X]</c> read as X.</summary>
    public static JsonObject Resolve(JsonNode document, JsonNode? schema)
    {
        for (int hops = 0; hops < 16; hops++)
        {
            if (schema is not JsonObject obj) return [];
            if (obj["$ref"]?.GetValue<string>() is { } reference)
            {
                schema = reference.TrimStart('#', '/').Split('/').Aggregate((JsonNode?)document, (node, part) => node?[part]);
                continue;
            }
            if (obj["oneOf"] is JsonArray choices && choices.FirstOrDefault(c => TypeOf(c as JsonObject ?? []) != "null") is { } choice)
            {
                schema = choice;
                continue;
            }
            return obj;
        }
        return [];
    }

    /// <summary>The schema's type other than null ("string", "integer", "number", "boolean", "object", "array"), or "".</summary>
    public static string TypeOf(JsonObject schema) => schema["type"] switch
    {
        // A double that also reads "NaN" and "Infinity" is described as {"type": "object", "anyOf": [number, those names]}.
        _ when schema["anyOf"] is JsonArray choices && choices.OfType<JsonObject>().Any(c => TypeOf(c) == "number") => "number",
        JsonValue v => v.GetValue<string>(),
        JsonArray types => types.Select(t => t!.GetValue<string>()).FirstOrDefault(t => t != "null") ?? "null",
        _ => schema["enum"] is not null ? "enum" : "",
    };

    public static IEnumerable<(string Name, JsonObject Schema)> Properties(JsonNode document, JsonObject schema) =>
        (schema["properties"]?.AsObject() ?? []).Select(p => (p.Key, Resolve(document, p.Value)));
}
