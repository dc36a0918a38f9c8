using System.Text;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests.Fuzz;

/// <summary>
/// The real things the cases point at, so valid-looking requests reach deep code: a project (with a viewer) holding an
/// experiment, a run that can never train and an evaluation schedule; an empty dataset to upload to, a ready one to
/// evaluate on, and a user to act on. <see cref="Schedule"/> and <see cref="Evaluation"/> are null where none could be made.
/// </summary>
public sealed record FuzzWorld(string Project, string Experiment, string Run, string Dataset, string ReadyDataset, string TargetUser,
    int Seed, string? Schedule = null, string? Evaluation = null);

/// <summary>
/// Builds the cases from the OpenAPI document: every operation as each user with a valid-looking request, then as the
/// admin with one malformed part at a time (a path id, a query value, a body property or one inside it, the body as a
/// whole). The admin's valid deletes come last, so they cannot take away what other cases point at.
/// </summary>
public sealed class FuzzCases(JsonNode document, FuzzWorld world, Random random)
{
    const string Json = "application/json", Multipart = "multipart/form-data; boundary=b";
    const string Part = "--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nsome text\r\n";
    static readonly FuzzUser[] Unprivileged = [FuzzUser.Anonymous, FuzzUser.ForgedKey, FuzzUser.Outsider, FuzzUser.Viewer];
    int _fresh;

    public List<FuzzCase> All()
    {
        var cases = new List<FuzzCase>();
        var deletes = new List<FuzzCase>();
        foreach (var op in ApiSurface.Operations(document))
        {
            var (url, namesProject) = BaselineUrl(op);
            foreach (var user in Unprivileged)
                cases.Add(Case(op, user, "baseline", url, BaselineBody(op), MustRefuseFor(op, user, namesProject), BodyType(op)));
            (op.Method == "DELETE" ? deletes : cases).Add(Case(op, FuzzUser.Admin, "baseline", url, BaselineBody(op), false, BodyType(op)));
            cases.AddRange(PathMutations(op));
            cases.AddRange(QueryMutations(op));
            if (op.Body is not null) cases.AddRange(BodyMutations(op));
            if (op.IsUpload) cases.AddRange(UploadMutations(op));
        }
        return [.. cases.OrderBy(_ => random.Next()), .. deletes];
    }

    /// <summary>
    /// Without valid credentials every route is refused. Outsiders and viewers write nothing outside their own account
    /// (/me); outsiders read nothing that names the project or what is in it.
    /// </summary>
    static bool MustRefuseFor(ApiOperation op, FuzzUser user, bool namesProject) => user switch
    {
        FuzzUser.Anonymous or FuzzUser.ForgedKey => true,
        _ when !op.IsRead => !op.IsSelfService,
        FuzzUser.Outsider => namesProject,
        _ => false,
    };

    FuzzCase Case(ApiOperation op, FuzzUser user, string mutation, string url, string? body, bool mustRefuse, string? contentType = Json) =>
        new(op, user, mutation, url, body, body is null ? null : contentType, mustRefuse);

    static string BodyType(ApiOperation op) => op.IsUpload ? Multipart : Json;

    // ---- path and query

    /// <summary>A real id for the parameter, and whether it names the project or something in it.</summary>
    (string Value, bool InProject) PathValue(ApiOperation op, ApiParameter p) => p.Name switch
    {
        "projectId" => (world.Project, true),
        "experimentId" => (world.Experiment, true),
        "runId" => (world.Run, true),
        "datasetId" => (world.Dataset, false),
        "userName" => (world.TargetUser, false),
        "model" => ("fuzz-model", false),
        "alias" => ("fuzz-alias", false),
        "id" when op.Template.StartsWith("/api/v1/evaluation-schedules/") && world.Schedule is { } schedule => (schedule, true),
        "id" when op.Template.StartsWith("/api/v1/evaluations/") && world.Evaluation is { } evaluation => (evaluation, true),
        _ when p.Format == "uuid" => (NewGuid(), false),
        _ when p.Type == "integer" => ("1", false),
        _ => ("1", false), // versionOrAlias
    };

    /// <summary>The query values that name the project or what is in it; other query parameters are left out.</summary>
    string? QueryValue(ApiParameter p) => p.Name switch
    {
        "project" or "project_id" => world.Project,
        "experiment_id" => world.Experiment,
        "run_id" => world.Run,
        "schedule_id" => world.Schedule,
        _ => null,
    };

    (string Url, bool NamesProject) BaselineUrl(ApiOperation op)
    {
        var values = op.PathParameters.ToDictionary(p => p.Name, p => PathValue(op, p));
        var query = op.QueryParameters.Select(p => (p.Name, Value: QueryValue(p))).Where(q => q.Value is not null).ToList();
        var url = Url(op, values.ToDictionary(v => v.Key, v => Uri.EscapeDataString(v.Value.Value)),
            query.Count == 0 ? null : string.Join("&", query.Select(q => $"{q.Name}={Uri.EscapeDataString(q.Value!)}")));
        return (url, query.Count > 0 || values.Values.Any(v => v.InProject));
    }

    /// <summary>The operation's URL: real ids in the path except those in <paramref name="given"/> (raw, already escaped), and the query.</summary>
    string Url(ApiOperation op, IReadOnlyDictionary<string, string>? given = null, string? query = null)
    {
        var url = op.PathParameters.Aggregate(op.Template, (template, p) =>
            template.Replace($"{{{p.Name}}}", given?.GetValueOrDefault(p.Name) ?? Uri.EscapeDataString(PathValue(op, p).Value)));
        return query is null ? url : $"{url}?{query}";
    }

    IEnumerable<FuzzCase> PathMutations(ApiOperation op)
    {
        foreach (var p in op.PathParameters)
        {
            string[] bad = p.Type == "integer" || p.Format == "uuid"
                ? ["abc", "99999999999999999999", "1e400", "1.5", "%20", "%00"]
                : ["%20", "UPPER", "-dash", "a..b", "%2E%2E", "a%2Fb", new string('a', 65), new string('a', 300), "%E2%80%AE", "a%00b", "a%0D%0Ab",
                   "%C3%A9t%C3%A9", Uri.EscapeDataString(Junk(8))];
            foreach (var value in bad)
                yield return Case(op, FuzzUser.Admin, $"path {p.Name}={FuzzCase.Excerpt(value, 24)}",
                    Url(op, new Dictionary<string, string> { [p.Name] = value }), BaselineBody(op), mustRefuse: true, BodyType(op));
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
                yield return Case(op, FuzzUser.Admin, $"query {p.Name}={value}", Url(op, query: $"{p.Name}={value}"), BaselineBody(op), true);
            foreach (var value in new[] { "-1", "0", "2147483647", Uri.EscapeDataString(new string('q', 5000)), "%00", "%20", Uri.EscapeDataString(Junk(12)) })
                yield return Case(op, FuzzUser.Admin, $"query {p.Name}={FuzzCase.Excerpt(value, 20)}", Url(op, query: $"{p.Name}={value}"),
                    BaselineBody(op), false);
        }
    }

    // ---- bodies

    /// <summary>A valid-looking body: real ids where a property names one, fresh ids and names where it creates one.</summary>
    string? BaselineBody(ApiOperation op) => op.IsUpload ? Part + "--b--\r\n" : op.Body is null ? null : Baseline(op).ToJsonString();

    JsonObject Baseline(ApiOperation op)
    {
        var body = new JsonObject();
        foreach (var (name, schema) in ApiSurface.Properties(document, op.Body!))
            if (!Omitted.Contains(name)) body[name] = BaselineValue(op, name, schema);
        return body;
    }

    /// <summary>Left out of valid-looking bodies (an evaluation targets the run, not a model; a launch uses the preset), but still mutated.</summary>
    static readonly HashSet<string> Omitted = ["model_name", "model_version", "config", "checkpoint_step"];

    JsonNode? BaselineValue(ApiOperation op, string property, JsonObject schema) => property switch
    {
        "project" or "project_id" => world.Project,
        "experiment_id" => world.Experiment,
        "run_id" => world.Run,
        "dataset_id" => op.Template.EndsWith("/builtin") ? Fresh() : world.ReadyDataset,
        "id" or "name" or "user_name" => Fresh(), // creations never clash with an earlier case's
        "password" => "fuzz-password-long-enough",
        "role" => "viewer",
        "preset" => "tiny-cpu",
        // A run that is admitted but can never train: one GPU on a CPU-only cluster, data that does not exist.
        "resources" => new JsonObject { ["gpus"] = 1, ["gpu_memory_gb"] = 1, ["cpu_slots"] = 1 },
        "overrides" => new JsonObject { ["data.datasets[0].path"] = "/fuzz/no-data", ["tokenizer"] = "/fuzz/no-tokenizer.json" },
        "max_retries" => 0,
        "corpus" => "brown", // the fixture's 200 short documents: a malformed request must be refused before it stores anything
        "tokenizer_vocab" => 300,
        "validation_fraction" => 0.1,
        "cron" => "0 0 1 1 *",
        "enabled" => false,
        "model" => "fuzz-model",
        _ => ApiSurface.TypeOf(schema) switch
        {
            "string" => "fuzz",
            "integer" => 1,
            "number" => 0.5,
            "boolean" => false,
            "array" => new JsonArray(),
            "object" => new JsonObject(),
            "enum" => schema["enum"]![0]!.DeepClone(),
            _ => null,
        },
    };

    IEnumerable<FuzzCase> BodyMutations(ApiOperation op)
    {
        foreach (var (name, schema) in ApiSurface.Properties(document, op.Body!))
        {
            var type = ApiSurface.TypeOf(schema);
            foreach (var m in FuzzRules.For(name, type, schema, BaselineValue(op, name, schema), Junk))
                yield return Case(op, FuzzUser.Admin, $"{name}: {m.Label}", Url(op), With(Baseline(op), name, m.Json), m.MustRefuse);
            yield return Case(op, FuzzUser.Admin, $"{name} twice", Url(op), Twice(Baseline(op), name), true);
            // One level in (a launch's resources): the same rules for each of its properties.
            foreach (var (inner, innerSchema) in ApiSurface.Properties(document, schema))
            {
                foreach (var m in FuzzRules.For(inner, ApiSurface.TypeOf(innerSchema), innerSchema, BaselineValue(op, inner, innerSchema), Junk))
                    yield return Case(op, FuzzUser.Admin, $"{name}.{inner}: {m.Label}", Url(op), Inside(Baseline(op), name, b => With(b, inner, m.Json)),
                        m.MustRefuse);
                yield return Case(op, FuzzUser.Admin, $"{name}.{inner} twice", Url(op), Inside(Baseline(op), name, b => Twice(b, inner)), true);
            }
        }
        bool required = op.BodyRequired;
        var baseline = Baseline(op).ToJsonString();
        yield return Case(op, FuzzUser.Admin, "not json", Url(op), "not json {", true);
        yield return Case(op, FuzzUser.Admin, "truncated", Url(op), baseline[..(baseline.Length / 2)], true);
        yield return Case(op, FuzzUser.Admin, "a list", Url(op), "[1, 2]", true);
        yield return Case(op, FuzzUser.Admin, "200 lists deep", Url(op), new string('[', 200) + new string(']', 200), true);
        yield return Case(op, FuzzUser.Admin, "JSON null", Url(op), "null", required);
        yield return Case(op, FuzzUser.Admin, "empty", Url(op), "", required);
        yield return Case(op, FuzzUser.Admin, "an unknown property", Url(op), With(Baseline(op), "fuzz_unknown", "1"), false);
        yield return Case(op, FuzzUser.Admin, "text/plain", Url(op), baseline, required, "text/plain");
        yield return Case(op, FuzzUser.Admin, "application/xml", Url(op), "<fuzz/>", required, "application/xml");
        yield return Case(op, FuzzUser.Admin, "no content type", Url(op), baseline, required, contentType: null);
        yield return Case(op, FuzzUser.Admin, "charset bogus", Url(op), baseline, true, "application/json; charset=bogus-9");
        yield return Case(op, FuzzUser.Admin, "over the size limit", Url(op),
            With(Baseline(op), "padding", $"\"{new string('p', WebApp.MaxRequestBytes + 1024)}\""), true);
    }

    /// <summary>The body with <paramref name="name"/> set to the raw JSON text (which need not be valid JSON).</summary>
    public static string With(JsonObject body, string name, string raw)
    {
        var rest = body.DeepClone().AsObject();
        rest.Remove(name);
        var text = rest.ToJsonString();
        return text.Length == 2 ? $"{{\"{name}\": {raw}}}" : $"{text[..^1]}, \"{name}\": {raw}}}";
    }

    /// <summary>The body with <paramref name="name"/> given twice (its baseline value, or null, both times).</summary>
    public static string Twice(JsonObject body, string name)
    {
        var value = body[name]?.ToJsonString() ?? "null";
        return $"{With(body, name, value)[..^1]}, \"{name}\": {value}}}";
    }

    /// <summary>The body with the object <paramref name="name"/> replaced by <paramref name="change"/> of its baseline (raw text).</summary>
    static string Inside(JsonObject body, string name, Func<JsonObject, string> change) =>
        With(body, name, change(body[name] as JsonObject ?? []));

    IEnumerable<FuzzCase> UploadMutations(ApiOperation op)
    {
        var url = Url(op);
        FuzzCase Upload(string mutation, string body, bool refuse, string contentType = Multipart) =>
            Case(op, FuzzUser.Admin, mutation, url, body, refuse, contentType);
        yield return Upload("multipart without a boundary", Part + "--b--\r\n", true, "multipart/form-data");
        yield return Upload("multipart with an empty boundary", Part + "--b--\r\n", true, "multipart/form-data; boundary=");
        yield return Upload("multipart cut short", Part[..40], true);
        yield return Upload("multipart without its end", Part, true);
        yield return Upload("multipart without files", "--b--\r\n", true);
        yield return Upload("JSON instead of multipart", "{\"files\": [\"a.txt\"]}", true, Json);
        // A charset on multipart/form-data means nothing (each part has its own): it may be ignored, but it is no 500.
        yield return Upload("multipart, charset bogus", Part + "--b--\r\n", false, Multipart + "; charset=bogus-9");
        foreach (var (field, value) in new[] { ("tokenizer_vocab", "abc"), ("tokenizer_vocab", "1e400"), ("tokenizer_vocab", "-1"),
                     ("tokenizer_vocab", "99999999999"), ("tokenizer_vocab", "2147483647"), ("validation_fraction", "NaN"),
                     ("validation_fraction", "Infinity"), ("validation_fraction", "1e400"), ("validation_fraction", "-1") })
            yield return Upload($"multipart {field}={value}", Part + $"--b\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n--b--\r\n", true);
        foreach (var (label, name) in new[] { ("..", ".."), ("NUL", "a\0b.txt"), ("5,000 characters", new string('f', 5000)), ("empty", "") })
            yield return Upload($"multipart file name {label}", Part.Replace("a.txt", name) + "--b--\r\n", true);
        // A client that sends a path: only the file's own name is kept (no folders), so this may be accepted.
        yield return Upload("multipart file name with folders", Part.Replace("a.txt", "../../etc/passwd") + "--b--\r\n", false);
    }

    // ---- seeded values

    /// <summary>A name no earlier case used ("fuzz-20261208-17"): creations are judged on their input, never refused as a clash.</summary>
    string Fresh() => $"fuzz-{world.Seed}-{++_fresh}";

    string NewGuid()
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes).ToString();
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
