using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests.Fuzz;

/// <summary>One malformed value for a property: a label for the report, the raw JSON text, and whether it must be refused.</summary>
public sealed record ValueMutation(string Label, string Json, bool MustRefuse);

/// <summary>
/// The API's input rules as the fuzz checks them (issue 13, docs/web.md): which malformed values each kind of property
/// must refuse. A value marked false may be accepted or refused, but never answered with a 5xx.
/// </summary>
public static class FuzzRules
{
    /// <summary>What a body property holds, read from its name: the rules differ for ids, names, passwords and free text.</summary>
    public enum Role { Id, UserName, Password, Name, Text, RunConfig, Other }

    public static Role RoleOf(string property) => property switch
    {
        "id" or "project" or "project_id" or "experiment_id" or "run_id" or "dataset_id" or "model" or "model_name" or "alias" => Role.Id,
        "user_name" => Role.UserName,
        "password" => Role.Password,
        "name" or "display_name" => Role.Name,
        "description" or "reason" => Role.Text,
        "config" or "overrides" => Role.RunConfig,
        _ => Role.Other,
    };

    /// <summary>Integers that may be negative (a scheduling preference); every other count, size, step or version may not.</summary>
    static readonly HashSet<string> SignedIntegers = ["priority"];

    /// <summary>The malformed values of one property of the given type (<see cref="ApiSurface.TypeOf"/>).</summary>
    /// <param name="baseline">The property's valid-looking value (a launch's changes to a run config are made on top of its overrides).</param>
    public static IEnumerable<ValueMutation> For(string property, string type, JsonObject schema, JsonNode? baseline, Func<int, string> junk)
    {
        yield return new("null", "null", false); // optional fields take it; required ones say so
        yield return new("80 lists deep", new string('[', 80) + new string(']', 80), true);
        yield return new("80 objects deep", string.Concat(Enumerable.Repeat("{\"a\": ", 80)) + "1" + new string('}', 80), true);
        var role = RoleOf(property);
        bool signed = SignedIntegers.Contains(property);
        IEnumerable<ValueMutation> values = type switch
        {
            "string" => Strings(role, junk),
            "integer" => Integers(schema["format"]?.GetValue<string>() == "int64", signed),
            "number" => Numbers(signed),
            "boolean" => [new("text", "\"yes\"", true), new("a number", "1", true), new("a list", "[]", true)],
            // By name, or by a value checked against the range: 99 is refused either way.
            "enum" => [new("a number", "99", true), new("a number in range", "1", false), new("an unknown name", "\"superuser\"", true),
                new("a list", "[\"admin\"]", true)],
            // A typed object's own keys are given twice one by one (FuzzCases); a free-form one (a run config) has none to name.
            "object" => [new("a number", "1", true), new("text", "\"x\"", true), new("a list", "[1]", true),
                .. schema["properties"] is null ? [new ValueMutation("a key twice", "{\"a\": 1, \"a\": 2}", true)] : Array.Empty<ValueMutation>()],
            "array" => [new("text", "\"x\"", true), new("an object", "{}", true), new("a null inside", "[null]", true),
                new("a number inside", "[1]", true), new("NUL inside", "[\"a\\u0000b\"]", true),
                new("5,000 characters inside", $"[\"{new string('x', 5000)}\"]", true)],
            _ => [],
        };
        foreach (var value in values) yield return value;
        if (role == Role.RunConfig)
            foreach (var value in property == "overrides" ? Overrides.Select(o => o with { Json = OnTopOf(baseline as JsonObject, o.Json) }) : Config)
                yield return value;
    }

    static IEnumerable<ValueMutation> Strings(Role role, Func<int, string> junk)
    {
        yield return new("a number", "12345", true);
        yield return new("an object", "{\"a\": 1}", true);
        yield return new("a list", "[\"a\"]", true);
        yield return new("true", "true", true);
        yield return new("NUL", "\"a\\u0000b\"", true);
        // Line breaks belong in descriptions; in a name, an id or a password they are a forged log line or a broken list.
        yield return new("CR LF", "\"a\\r\\nb\"", role != Role.Text);
        yield return new("5,000 characters", $"\"{new string('x', 5000)}\"", role != Role.Text);
        yield return new("50,000 characters", $"\"{new string('x', 50_000)}\"", true);
        yield return new("junk", JsonSerializer.Serialize(junk(16)), false);
        switch (role)
        {
            case Role.Id:
                yield return new("upper case", "\"UPPER\"", true);
                yield return new("a path", "\"../x\"", true);
                yield return new("a slash", "\"a/b\"", true);
                yield return new("a space inside", "\"a b\"", true);
                yield return new("a leading dash", "\"-1\"", true);
                yield return new("accents", "\"\\u00e9t\\u00e9\"", true);
                break;
            case Role.UserName:
                yield return new("one character", "\"a\"", true);
                yield return new("a path", "\"../x\"", true);
                yield return new("a space inside", "\"a b\"", true);
                break;
            case Role.Password:
                yield return new("eight spaces", "\"        \"", true);
                yield return new("eight NULs", $"\"{string.Concat(Enumerable.Repeat("\\u0000", 8))}\"", true);
                yield return new("three characters", "\"abc\"", true);
                break;
        }
    }

    static IEnumerable<ValueMutation> Integers(bool int64, bool signed)
    {
        yield return new("text", "\"abc\"", true);
        yield return new("a fraction", "1.5", true);
        yield return new("1e400", "1e400", true);
        yield return new("NaN", "\"NaN\"", true);
        yield return new("past int64", "9223372036854775808", true);
        yield return new("past int32", "2147483648", !int64);
        yield return new("true", "true", true);
        yield return new("an object", "{}", true);
        // Counts, sizes, steps and versions are bounded: nothing real has int.MaxValue of them.
        yield return new("the largest value", int64 ? long.MaxValue.ToString() : int.MaxValue.ToString(), true);
        yield return new("the smallest value", int64 ? long.MinValue.ToString() : int.MinValue.ToString(), true);
        yield return new("-1", "-1", !signed);
    }

    static IEnumerable<ValueMutation> Numbers(bool signed)
    {
        yield return new("NaN", "\"NaN\"", true);
        yield return new("Infinity", "\"Infinity\"", true);
        yield return new("-Infinity", "\"-Infinity\"", true);
        yield return new("1e400", "1e400", true);
        yield return new("-1e400", "-1e400", true);
        yield return new("1e300", "1e300", true);
        yield return new("text", "\"abc\"", true);
        yield return new("true", "true", true);
        yield return new("-1", "-1", !signed);
    }

    /// <summary>Changes to a launch's overrides: null where a section is due, absurd sizes, non-finite numbers, huge paths, keys twice, NUL in a path.</summary>
    static readonly ValueMutation[] Overrides =
    [
        new("training null", "{\"training\": null}", true),
        new("model null", "{\"model\": null}", true),
        new("a null in a list", "{\"data.datasets\": [null]}", true),
        new("100,000 experts", "{\"model.moe.num_experts\": 100000}", true),
        new("d_model at int max", "{\"model.d_model\": 2147483647}", true),
        new("n_layers at int max", "{\"model.n_layers\": 2147483647}", true),
        new("lr 1e400", "{\"training.lr\": 1e400}", true),
        new("lr NaN", "{\"training.lr\": \"NaN\"}", true),
        new("steps -5", "{\"training.steps\": -5}", true),
        new("a file path with NUL", "{\"tokenizer\": \"/fuzz/a\\u0000b.json\"}", true),
        new("a path of 5,000 parts", $"{{\"{string.Join('.', Enumerable.Repeat("a", 5000))}\": 1}}", true),
        new("a path of 20,000 characters", $"{{\"training.{new string('s', 20_000)}\": 1}}", true),
        new("a path twice", "{\"training.steps\": 200, \"training.steps\": 300}", true),
        new("a key twice inside a value", "{\"model\": {\"d_model\": 8, \"d_model\": 16}}", true),
    ];

    /// <summary>A launch's config (merged into its preset): a key twice, null sections, a non-finite number, absurd sizes.</summary>
    static readonly ValueMutation[] Config =
    [
        new("model twice", "{\"model\": \"default\", \"model\": {\"d_model\": 8}}", true),
        new("training null", "{\"training\": null}", true),
        new("model null", "{\"model\": null}", true),
        new("steps 1e400", "{\"training\": {\"steps\": 1e400}}", true),
        new("experts at int max", "{\"model\": {\"moe\": {\"num_experts\": 2147483647}}}", true),
    ];

    /// <summary>
    /// The change (raw JSON text, which may name a key twice) added to the baseline's overrides, less those the change names:
    /// the run still points at data that does not exist, so nothing but the change can refuse it.
    /// </summary>
    public static string OnTopOf(JsonObject? baseline, string change)
    {
        var kept = (baseline ?? []).Where(p => !change.Contains($"\"{p.Key}\"")).Select(p => $"{JsonSerializer.Serialize(p.Key)}: {p.Value?.ToJsonString() ?? "null"}");
        return "{" + string.Join(", ", kept.Append(change.Trim()[1..^1])) + "}";
    }
}
