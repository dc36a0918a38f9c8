using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Moe.Web.Tests.Fuzz;

/// <summary>The fuzz test's own parts, without an app: the oracle, the cases it builds, and a run against a fake app with seeded bugs.</summary>
[Trait("Category", "Fuzz")]
public sealed class FuzzerTests
{
    static readonly JsonNode Document = JsonNode.Parse("""
        {"paths": {
          "/api/v1/projects/{projectId}": {"get": {"parameters": [{"name": "projectId", "in": "path", "schema": {"type": "string"}}]}},
          "/api/v1/projects/{projectId}/members/{userName}": {"put": {
            "parameters": [{"name": "projectId", "in": "path", "schema": {"type": "string"}}, {"name": "userName", "in": "path", "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Role"}}}}}},
          "/api/v1/me/api-keys": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/K"}}}}}},
          "/api/v1/runs": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/R"}}}}}},
          "/api/v1/datasets/builtin": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}}},
          "/healthz": {"get": {}}},
         "components": {"schemas": {
           "Role": {"type": "object", "properties": {"role": {"enum": ["viewer", "member", "admin", null]}}},
           "K": {"type": "object", "properties": {"name": {"type": ["null", "string"]}, "days": {"type": ["null", "integer"], "format": "int32"}}},
           "R": {"type": "object", "properties": {"overrides": {"type": ["null", "object"]}, "priority": {"type": "integer", "format": "int32"}}},
           "B": {"type": "object", "properties": {"dataset_id": {"type": ["null", "string"]},
             "validation_fraction": {"type": "object", "anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}], "format": "double"}}}}}}
        """)!;

    static readonly FuzzWorld World = new("p", "e", "r", "d", "ready", "t", 7);

    static List<FuzzCase> Cases() => new FuzzCases(Document, World, new Random(1)).All();

    [Fact]
    public void The_oracle_flags_server_errors_wrongful_acceptance_records_left_and_anything_but_401_without_credentials()
    {
        var write = new ApiOperation("POST", "/api/v1/experiments", [], [], true, "");
        FuzzCase Sent(FuzzUser user, bool refuse) => new(write, user, "name: NUL", write.Template, "{\"name\": \"a\\u0000\"}", "application/json", refuse);

        Assert.Equal(FuzzOracle.ServerError, FuzzOracle.Judge(Sent(FuzzUser.Admin, refuse: false), 500, null));
        Assert.Equal(FuzzOracle.ServerError, FuzzOracle.Judge(Sent(FuzzUser.Anonymous, refuse: true), 503, null));
        Assert.Equal(FuzzOracle.WrongfulAcceptance, FuzzOracle.Judge(Sent(FuzzUser.Admin, refuse: true), 201, "Experiment +1"));
        Assert.Equal(FuzzOracle.WrongfulAcceptance, FuzzOracle.Judge(Sent(FuzzUser.Viewer, refuse: true), 204, null));
        Assert.Equal(FuzzOracle.LeftRecords, FuzzOracle.Judge(Sent(FuzzUser.Admin, refuse: true), 400, "Experiment +1"));
        Assert.Equal(FuzzOracle.LeftRecords, FuzzOracle.Judge(Sent(FuzzUser.Outsider, refuse: true), 403, "uploaded files +1"));
        Assert.Equal(FuzzOracle.NotUnauthorized, FuzzOracle.Judge(Sent(FuzzUser.Anonymous, refuse: true), 404, null));
        Assert.Equal(FuzzOracle.NotUnauthorized, FuzzOracle.Judge(Sent(FuzzUser.ForgedKey, refuse: true), 302, null));
        Assert.Equal(FuzzOracle.UnexpectedStatus, FuzzOracle.Judge(Sent(FuzzUser.Admin, refuse: false), 302, null));
        Assert.Null(FuzzOracle.Judge(Sent(FuzzUser.Anonymous, refuse: true), 401, null));
        Assert.Null(FuzzOracle.Judge(Sent(FuzzUser.Admin, refuse: true), 400, null));
        Assert.Null(FuzzOracle.Judge(Sent(FuzzUser.Admin, refuse: false), 201, "Experiment +1")); // a valid creation
    }

    [Fact]
    public void Cases_cover_every_operation_for_every_user_and_refuse_what_the_rules_refuse()
    {
        var cases = Cases();

        Assert.Equal(["GET /api/v1/projects/{projectId}", "POST /api/v1/datasets/builtin", "POST /api/v1/me/api-keys", "POST /api/v1/runs",
            "PUT /api/v1/projects/{projectId}/members/{userName}"], cases.Select(c => c.Operation.ToString()).Distinct().Order());
        var baselines = cases.Where(c => c.Mutation == "baseline").ToDictionary(c => (c.Operation.Template, c.User), c => c.MustRefuse);
        Assert.Equal(5 * 5, baselines.Count);
        const string project = "/api/v1/projects/{projectId}", members = "/api/v1/projects/{projectId}/members/{userName}", keys = "/api/v1/me/api-keys";
        Assert.True(baselines[(keys, FuzzUser.Anonymous)] && baselines[(keys, FuzzUser.ForgedKey)] && baselines[(project, FuzzUser.Anonymous)]);
        Assert.True(baselines[(project, FuzzUser.Outsider)] && baselines[(members, FuzzUser.Outsider)] && baselines[(members, FuzzUser.Viewer)]);
        Assert.False(baselines[(project, FuzzUser.Viewer)] || baselines[(project, FuzzUser.Admin)] || baselines[(members, FuzzUser.Admin)]);
        Assert.False(baselines[(keys, FuzzUser.Viewer)] || baselines[(keys, FuzzUser.Outsider)]); // one's own keys
        Assert.Contains(cases, c => c is { Mutation: "days: 1e400", MustRefuse: true } && c.Body!.Contains("\"days\": 1e400"));
        Assert.Contains(cases, c => c is { Mutation: "days: the largest value", MustRefuse: true } && c.Body!.Contains("2147483647"));
        Assert.Contains(cases, c => c is { Mutation: "validation_fraction: NaN", MustRefuse: true }); // a double read from anyOf
        Assert.Contains(cases, c => c is { Mutation: "role: a number", MustRefuse: true } && c.Body == "{\"role\": 99}");
        Assert.Contains(cases, c => c is { Mutation: "name twice", MustRefuse: true } && c.Body!.Split("\"name\"").Length == 3);
        Assert.Contains(cases, c => c is { Mutation: "name: CR LF", MustRefuse: true });
        Assert.Contains(cases, c => c is { Mutation: "path projectId=%20", MustRefuse: true } && c.Url == "/api/v1/projects/%20");
        Assert.Contains(cases, c => c is { Mutation: "charset bogus", MustRefuse: true, ContentType: "application/json; charset=bogus-9" });
        Assert.Contains(cases, c => c is { Mutation: "over the size limit", MustRefuse: true } && c.Body!.Length > WebApp.MaxRequestBytes);
        Assert.Contains(cases, c => c is { Mutation: "name: null", MustRefuse: false });
        Assert.Contains(cases, c => c is { Mutation: "priority: -1", MustRefuse: false }); // a preference may be negative
        // A change to a run config is made on top of the valid overrides, so only the change can be why it is refused.
        Assert.Contains(cases, c => c is { Mutation: "overrides: training null", MustRefuse: true }
            && c.Body!.Contains("\"overrides\": {\"data.datasets[0].path\": \"/fuzz/no-data\", \"tokenizer\": \"/fuzz/no-tokenizer.json\", \"training\": null}"));
        Assert.Contains(cases, c => c is { Mutation: "overrides: a file path with NUL" } && c.Body!.Contains("a\\u0000b") && !c.Body.Contains("no-tokenizer"));
        // Every creation gets a fresh id: a valid one is never refused as a clash with an earlier case.
        var ids = cases.Where(c => c.Operation.Template.EndsWith("/builtin") && c.Mutation.StartsWith("validation_fraction"))
            .Select(c => Regex.Match(c.Body!, "\"dataset_id\":\"([^\"]+)\"").Groups[1].Value).ToList();
        Assert.True(ids.Count > 5 && ids.All(id => id.StartsWith("fuzz-7-")), string.Join(", ", ids));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void The_same_seed_builds_the_same_cases_in_the_same_order()
    {
        Assert.Equal(Cases().Select(c => c.ToString()), Cases().Select(c => c.ToString()));
        Assert.NotEqual(Cases().Select(c => c.ToString()), new FuzzCases(Document, World, new Random(2)).All().Select(c => c.ToString()));
    }

    [Fact]
    public async Task A_run_against_an_app_with_seeded_bugs_reports_each_bug_and_nothing_else()
    {
        var records = new FakeRecords();
        // A correct app (401 without credentials, a refusal where one is due, else success) with five bugs.
        Task<FuzzAnswer> App(FuzzCase c)
        {
            if (c.ContentType?.Contains("bogus") == true) return Answer(500, "System.ArgumentException: 'bogus-9' is not a supported encoding name");
            if (c.Unauthenticated) return Answer(c.Operation.IsRead ? 302 : 401);
            if (c.Mutation == "role: a number") return Answer(200);
            if (c.Mutation == "name: NUL") return Answer(201);
            if (c.Mutation == "validation_fraction: NaN") { records.Rows++; return Answer(400); }
            return Answer(c.MustRefuse ? 400 : 200);
        }

        var cases = Cases();
        var (sent, failures) = await FuzzRunner.RunAsync(cases, App, records, TimeSpan.FromMinutes(1));

        Assert.Equal(cases.Count, sent);
        (string, string)[] seeded =
        [
            (FuzzOracle.ServerError, "charset bogus"), (FuzzOracle.WrongfulAcceptance, "role: a number"), (FuzzOracle.WrongfulAcceptance, "name: NUL"),
            (FuzzOracle.LeftRecords, "validation_fraction: NaN"), (FuzzOracle.NotUnauthorized, "baseline"),
        ];
        Assert.Equal(seeded.Order(), failures.Select(f => (f.Problem, f.Case.Mutation)).Distinct().Order());
        var report = FuzzReport.Format(7, sent, failures);
        Assert.Contains("MOE_FUZZ_SEED=7", report);
        Assert.Contains("server error: [charset bogus] on 4 routes, 4 requests", report);
        Assert.Contains("'bogus-9' is not a supported encoding name", report);
        Assert.Contains("Fake +1", report);
        Assert.Contains("Anonymous GET /api/v1/projects/p [baseline] -> 302", report);
    }

    static Task<FuzzAnswer> Answer(int status, string? error = null) => Task.FromResult(new FuzzAnswer(status, "{}", error));

    sealed class FakeRecords : IRecordProbe
    {
        public long Rows;

        public RecordSnapshot Snapshot() => new([(Rows, Rows)], 0);

        public string? Added(RecordSnapshot before, RecordSnapshot after) => $"Fake +{after.Rows[0].Count - before.Rows[0].Count}";
    }
}
