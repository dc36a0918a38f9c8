using System.Text;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests.Fuzz;

/// <summary>The real things the cases point at, so valid-looking requests reach deep code: a project with a viewer, an outsider, ids.</summary>
public sealed record FuzzWorld(string Project, string Experiment, string Run, string Dataset, string TargetUser, string Seed, HttpClient ViewerClient);

/// <summary>
/// Builds the cases from the OpenAPI document: every operation as each unprivileged user with a valid-looking request, then
/// as the admin with one malformed part at a time (path ids, query values, each body property, the body as a whole).
/// </summary>
public sealed class FuzzCases(JsonNode document, FuzzWorld world, Random random)
{
    const int MaxRequestBytes = WebApp.MaxRequestBytes;

    public List<FuzzCase> All()
    {
        var cases = new List<FuzzCase>();
        foreach (var op in ApiSurface.Operations(document))
        {
            foreach (var user in new[] { FuzzUser.Anonymous, FuzzUser.Outsider, FuzzUser.Viewer })
                cases.Add(Case(op, user, "baseline", Url(op), BaselineBody(op), MustRefuseFor(op, user)));
            cases.AddRange(PathMutations(op));
            cases.AddRange(QueryMutations(op));
            if (op.Body is not null) cases.AddRange(BodyMutations(op));
            if (op.IsUpload) cases.AddRange(UploadMutations(op));
        }
        return cases;
    }

    /// <summary>Anonymous: every route is refused. Outsiders and viewers: no writes outside their own account; outsiders read nothing of the project's by id.</summary>
    static bool MustRefuseFor(ApiOperation op, FuzzUser user) => user switch
    {
        FuzzUser.Anonymous => true,
        _ when !op.IsRead => !op.IsSelfService,
        FuzzUser.Outsider => op.PathParameters.Any(p => p.Name is "projectId" or "experimentId" or "runId"),
        _ => false,
    };

    FuzzCase Case(ApiOperation op, FuzzUser user, string mutation, string url, string? body, bool mustRefuse, string contentType = "application/json") =>
        new(op, user, mutation, url, body, body is null ? null : contentType, mustRefuse);

    // ---- path and query

    string PathValue(ApiParameter p) => p.Name switch
    {
        "projectId" => world.Project,
        "experimentId" => world.Experiment,
        "runId" => world.Run,
        "datasetId" => world.Dataset,
        "userName" => world.TargetUser,
        "model" => "fuzz-model",
        "alias" => "fuzz-alias",
        "versionOrAlias" => "1",
        _ when p.Format == "uuid" => Guid.NewGuid().ToString(),
        _ when p.Type == "integer" => "1",
        _ => "fuzz",
    };

    /// <summary>The operation's URL: real ids in the path except <paramref name="replaced"/>'s (given raw, already escaped), and the query.</summary>
    string Url(ApiOperation op, IReadOnlyDictionary<string, string>? replaced = null, string? query = null)
    {
        var url = op.PathParameters.Aggregate(op.Template, (template, p) =>
            template.Replace($"{{{p.Name}}}", replaced?.GetValueOrDefault(p.Name) ?? Uri.EscapeDataString(PathValue(p))));
        return query is null ? url : $"{url}?{query}";
    }

    IEnumerable<FuzzCase> PathMutations(ApiOperation op)
    {
        foreach (var p in op.PathParameters)
        {
            string[] bad = p.Type == "integer" || p.Format == "uuid"
                ? ["abc", "99999999999999999999", "1e400", "%20"]
                : ["%20", "UPPER", "-dash", "a..b", new string('a', 65), "%E2%80%AE", "a%00b", Uri.EscapeDataString(Junk(8))];
            foreach (var value in bad)
                yield return Case(op, FuzzUser.Admin, $"path {p.Name}={value}", Url(op, new Dictionary<string, string> { [p.Name] = value }),
                    BaselineBody(op), mustRefuse: true);
        }
    }

    IEnumerable<FuzzCase> QueryMutations(ApiOperation op)
    {
        foreach (var p in op.QueryParameters)
        {
            var bad = p.Type switch
            {
                "integer" => new[] { "abc", "1e400", "99999999999999999999", "1.5" },
                "boolean" => ["maybe", "2"],
                _ when p.Format == "uuid" => ["abc", "%20"],
                _ => [],
            };
            foreach (var value in bad)
                yield return Case(op, FuzzUser.Admin, $"query {p.Name}={value}", Url(op, query: $"{p.Name}={value}"),
                    BaselineBody(op), mustRefuse: true);
            foreach (var value in new[] { "-1", "0", Uri.EscapeDataString(new string('q', 5000)), "%00", Uri.EscapeDataString(Junk(12)) })
                yield return Case(op, FuzzUser.Admin, $"query {p.Name}={value[..Math.Min(value.Length, 20)]}", Url(op, new Dictionary<string, string>(),
                    $"{p.Name}={value}"), BaselineBody(op), mustRefuse: false);
        }
    }

    // ---- bodies

    /// <summary>A valid-looking body: real ids where the property names one, otherwise a value of its type.</summary>
    string? BaselineBody(ApiOperation op) => op.Body is null ? null : Baseline(op).ToJsonString();

    JsonObject Baseline(ApiOperation op)
    {
        var body = new JsonObject();
        foreach (var (name, schema) in ApiSurface.Properties(document, op.Body!)) body[name] = BaselineValue(op, name, schema);
        return body;
    }

    JsonNode? BaselineValue(ApiOperation op, string property, JsonObject schema) => property switch
    {
        "project" or "project_id" => world.Project,
        "experiment_id" => world.Experiment,
        "run_id" => world.Run,
        "dataset_id" => op.Template.EndsWith("/builtin") ? $"fuzz-{world.Seed}" : world.Dataset,
        "user_name" => $"fuzz-user-{world.Seed}",
        "password" => "fuzz-password-long-enough",
        "role" => "viewer",
        "preset" => "tiny-cpu",
        // A run that is admitted but can never train: one GPU on a CPU-only cluster, data that does not exist.
        "resources" => new JsonObject { ["gpus"] = 1 },
        "overrides" => new JsonObject { ["data.datasets[0].path"] = "/fuzz/no-data", ["tokenizer"] = "/fuzz/no-tokenizer.json", ["training.steps"] = 2 },
        "corpus" => "fuzz-no-corpus", // refused before anything heavy (a real corpus would train a tokenizer)
        "cron" => "0 3 * * *",
        "enabled" => false,
        "id" => $"fuzz-{world.Seed}",
        "model" or "model_name" => "fuzz-model",
        "config" => null,
        _ => ApiSurface.TypeOf(schema) switch
        {
            "string" => "fuzz",
            "integer" => 1,
            "number" => 0.5,
            "boolean" => false,
            "array" => new JsonArray(),
            "object" => new JsonObject(),
            _ => null,
        },
    };

    IEnumerable<FuzzCase> BodyMutations(ApiOperation op)
    {
        foreach (var (name, schema) in ApiSurface.Properties(document, op.Body!))
        {
            var type = ApiSurface.TypeOf(schema);
            foreach (var (label, raw, refuse) in PropertyMutations(type, schema))
            {
                var body = Baseline(op);
                body.Remove(name);
                var text = body.Count == 0 ? $"{{\"{name}\": {raw}}}" : body.ToJsonString()[..^1] + $", \"{name}\": {raw}}}";
                yield return Case(op, FuzzUser.Admin, $"{name}: {label}", Url(op), text, refuse);
            }
            // The same key twice: which one was meant?
            var twice = Baseline(op).ToJsonString();
            var value = BaselineValue(op, name, schema)?.ToJsonString() ?? "null";
            yield return Case(op, FuzzUser.Admin, $"{name} twice", Url(op), twice[..^1] + (twice.Length > 2 ? ", " : "") + $"\"{name}\": {value}}}", true);
        }
        bool required = op.BodyRequired;
        var baseline = BaselineBody(op)!;
        yield return Case(op, FuzzUser.Admin, "not json", Url(op), "not json {", true);
        yield return Case(op, FuzzUser.Admin, "truncated", Url(op), baseline[..(baseline.Length / 2)], true);
        yield return Case(op, FuzzUser.Admin, "a list", Url(op), "[1, 2]", true);
        yield return Case(op, FuzzUser.Admin, "nested 200 deep", Url(op), new string('[', 200) + new string(']', 200), true);
        yield return Case(op, FuzzUser.Admin, "empty", Url(op), "", required);
        yield return Case(op, FuzzUser.Admin, "text/plain", Url(op), baseline, required, "text/plain");
        yield return Case(op, FuzzUser.Admin, "charset bogus", Url(op), baseline, true, "application/json; charset=bogus-9");
        yield return Case(op, FuzzUser.Admin, "over the size limit", Url(op),
            baseline[..^1] + $", \"padding\": \"{new string('p', MaxRequestBytes + 1024)}\"}}", true);
    }

    /// <summary>One property's malformed values: (label, raw JSON, must it be refused).</summary>
    IEnumerable<(string, string, bool)> PropertyMutations(string type, JsonObject schema)
    {
        yield return ("null", "null", false); // optional fields take it; required ones say so
        yield return ("a long string", $"\"{new string('x', 10_000)}\"", false);
        yield return ("deeply nested", new string('[', 80) + new string(']', 80), true);
        switch (type)
        {
            case "string":
                yield return ("a number", "12345", true);
                yield return ("an object", "{\"a\": 1}", true);
                yield return ("control characters", "\"a\\u0000b\\r\\nc\"", true);
                yield return ("junk", System.Text.Json.JsonSerializer.Serialize(Junk(16)), false);
                break;
            case "integer":
                bool int32 = schema["format"]?.GetValue<string>() != "int64";
                yield return ("text", "\"abc\"", true);
                yield return ("a fraction", "1.5", true);
                yield return ("1e400", "1e400", true);
                yield return ("past int64", "9223372036854775808", true);
                yield return ("past int32", "2147483648", int32);
                yield return ("int max", int32 ? "2147483647" : "9223372036854775807", false);
                yield return ("negative", "-1", false);
                break;
            case "number":
                yield return ("NaN", "\"NaN\"", true);
                yield return ("Infinity", "\"Infinity\"", true);
                yield return ("1e400", "1e400", true);
                yield return ("-1e400", "-1e400", true);
                yield return ("1e300", "1e300", false);
                yield return ("text", "\"abc\"", true);
                break;
            case "boolean":
                yield return ("text", "\"yes\"", true);
                yield return ("a number", "1", true);
                break;
            case "object":
                yield return ("a number", "1", true);
                yield return ("text", "\"x\"", true);
                yield return ("a list", "[1]", true);
                break;
            case "array":
                yield return ("text", "\"x\"", true);
                yield return ("an object", "{}", true);
                yield return ("nulls", "[null, null]", false);
                break;
            case "enum":
                yield return ("a number", "99", true);
                yield return ("an unknown name", "\"superuser\"", true);
                break;
        }
    }

    IEnumerable<FuzzCase> UploadMutations(ApiOperation op)
    {
        var url = Url(op);
        const string part = "--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nsome text\r\n";
        yield return Case(op, FuzzUser.Admin, "multipart without a boundary", url, part + "--b--\r\n", true, "multipart/form-data");
        yield return Case(op, FuzzUser.Admin, "multipart cut short", url, part[..40], true, "multipart/form-data; boundary=b");
        yield return Case(op, FuzzUser.Admin, "multipart without files", url, "--b--\r\n", true, "multipart/form-data; boundary=b");
        foreach (var (field, value) in new[] { ("tokenizer_vocab", "abc"), ("tokenizer_vocab", "1e400"), ("validation_fraction", "NaN"),
                     ("validation_fraction", "1e400"), ("tokenizer_vocab", "99999999999") })
            yield return Case(op, FuzzUser.Admin, $"multipart {field}={value}", url,
                part + $"--b\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n--b--\r\n", true, "multipart/form-data; boundary=b");
        yield return Case(op, FuzzUser.Admin, "multipart file name ..", url, part.Replace("a.txt", "../..") + "--b--\r\n", true,
            "multipart/form-data; boundary=b");
        // A client that sends a path: only the file's own name is kept (no folders), so this may be accepted.
        yield return Case(op, FuzzUser.Admin, "multipart file name with folders", url,
            part.Replace("a.txt", "../../etc/passwd") + "--b--\r\n", false, "multipart/form-data; boundary=b");
    }

    /// <summary>Random printable and unprintable characters (seeded): what a confused client might send.</summary>
    string Junk(int length)
    {
        var text = new StringBuilder();
        for (int i = 0; i < length; i++)
            text.Append(random.Next(4) switch
            {
                0 => (char)random.Next(0x20, 0x7f),
                1 => (char)random.Next(0x80, 0x2fff),
                2 => "\u202e\u200b\ufeff"[random.Next(3)],
                _ => (char)random.Next(0x30, 0x3a),
            });
        return text.ToString();
    }
}
