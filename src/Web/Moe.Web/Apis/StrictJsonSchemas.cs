using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace Moe.Web.Apis;

/// <summary>
/// The OpenAPI schemas of the types with strict converters (<see cref="FiniteDoubleConverter"/>,
/// <see cref="NamedEnumConverterFactory"/>): a custom converter hides its type from the schema generator, which then
/// describes a double or an enum as "anything".
/// </summary>
public static class StrictJsonSchemas
{
    public static void Describe(OpenApiSchema schema, Type type)
    {
        if (type == typeof(double)) schema.Type = JsonSchemaType.Number;
        else if (type == typeof(double?)) schema.Type = JsonSchemaType.Number | JsonSchemaType.Null;
        else if ((Nullable.GetUnderlyingType(type) ?? type) is { IsEnum: true } enumType) schema.Enum = Names(enumType);
        // A map to enum values (a user's role per project): its values are not visited on their own.
        else if (schema.AdditionalProperties is null && DictionaryValueType(type) is { IsEnum: true } valueType)
            schema.AdditionalProperties = new OpenApiSchema { Enum = Names(valueType) };
    }

    static List<JsonNode> Names(Type enumType) => [.. NamedEnumConverterFactory.Names(enumType).Select(name => (JsonNode)name)];

    static Type? DictionaryValueType(Type type) =>
        type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
            ?.GetGenericArguments()[1];
}
