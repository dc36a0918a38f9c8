using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests.Fuzz;

/// <summary>
/// A guard that stays: walks the app's own OpenAPI document and sends every route malformed values (wrong types, nulls,
/// huge and non-finite numbers, odd ids, bad content types and charsets, duplicate keys, oversized and truncated bodies)
/// as anonymous, outsider, viewer and admin users. It fails on any 5xx, on any 2xx where a refusal is due, and on any record
/// a refused request left behind. Seeded (MOE_FUZZ_SEED replays another run), bounded in time, loopback only.
/// </summary>
[Collection(WebAppCollection.Name)]
[Trait("Category", "Fuzz")]
public sealed class ApiFuzzTests(WebApp app)
{
    const int DefaultSeed = 20261208;
    static readonly TimeSpan Budget = TimeSpan.FromSeconds(45);
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_route_refuses_malformed_and_unauthorised_input_without_a_server_error_or_a_trace()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("MOE_FUZZ_SEED"), out var given) ? given : DefaultSeed;
        var world = await WorldAsync(seed);
        var document = await app.Admin.GetJsonAsync("/openapi/v1.json");
        var random = new Random(seed);
        var cases = new FuzzCases(document, world, random).All().OrderBy(_ => random.Next()).ToList();
        var clients = new Dictionary<FuzzUser, HttpClient>
        {
            [FuzzUser.Anonymous] = app.Anonymous(),
            [FuzzUser.Outsider] = (await app.NewUserAsync("fuzz-outsider")).Api,
            [FuzzUser.Viewer] = world.ViewerClient,
            [FuzzUser.Admin] = app.Admin,
        };
        using var records = new RecordCounter(app);
        var failures = new List<(FuzzCase Case, string Problem, string Answer)>();
        var clock = Stopwatch.StartNew();
        int sent = 0;
        foreach (var fuzz in cases)
        {
            if (clock.Elapsed > Budget) break;
            var before = fuzz.Writes ? records.Snapshot() : null;
            using var request = fuzz.Request();
            using var response = await clients[fuzz.User].SendAsync(request, Ct);
            var answer = await response.Content.ReadAsStringAsync(Ct);
            sent++;
            var after = fuzz.Writes ? records.Snapshot() : null;
            if (FuzzOracle.Judge(fuzz, (int)response.StatusCode, before != after) is { } problem)
                failures.Add((fuzz, problem + (before != after && (int)response.StatusCode >= 400 ? $" ({before} -> {after})" : ""), answer));
            await CancelLaunchedRunAsync(fuzz, response.StatusCode, answer);
        }

        var operations = cases.Select(c => c.Operation.ToString()).Distinct().Count();
        TestContext.Current.SendDiagnosticMessage($"fuzz seed {seed}: {sent} of {cases.Count} requests over {operations} operations in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, $"seed {seed} (MOE_FUZZ_SEED={seed} replays it): {failures.Count} of {sent} requests were answered wrongly\n"
            + string.Join("\n", failures.GroupBy(f => (f.Problem.Split(" (")[0], f.Case.Operation.ToString())).Select(g =>
                $"- {g.Key.Item2}: {g.Key.Item1} x{g.Count()}, e.g. {g.First().Case}\n    answer: {Excerpt(g.First().Answer)}")));
        Assert.True(operations >= 50, $"the document listed only {operations} operations under /api/v1");
        Assert.True(sent > cases.Count / 2, $"only {sent} of {cases.Count} requests fit in {Budget}");
    }

    [Fact]
    public void The_oracle_flags_server_errors_wrongful_acceptance_and_records_left_by_refusals()
    {
        var write = new ApiOperation("POST", "/api/v1/experiments", [], [], true, "");
        var read = new ApiOperation("GET", "/api/v1/experiments", [], null, false, "");
        FuzzCase Malformed(ApiOperation op, bool refuse) => new(op, FuzzUser.Admin, "name: a number", op.Template, "{\"name\": 1}", "application/json", refuse);

        Assert.Equal("server error 500", FuzzOracle.Judge(Malformed(write, refuse: false), 500, recordsChanged: false));
        Assert.Equal("accepted (201) where a refusal was due", FuzzOracle.Judge(Malformed(write, refuse: true), 201, recordsChanged: true));
        Assert.Equal("refused (400) but left records behind", FuzzOracle.Judge(Malformed(write, refuse: true), 400, recordsChanged: true));
        Assert.Null(FuzzOracle.Judge(Malformed(write, refuse: true), 400, recordsChanged: false));
        Assert.Null(FuzzOracle.Judge(Malformed(write, refuse: false), 201, recordsChanged: true)); // an optional field left out
        Assert.Null(FuzzOracle.Judge(Malformed(read, refuse: false), 404, recordsChanged: true)); // reads are not blamed for others' writes
    }

    [Fact]
    public void Cases_cover_every_operation_for_every_user_and_refuse_what_the_rules_refuse()
    {
        var document = JsonNode.Parse("""
            {"paths": {
              "/api/v1/projects/{projectId}": {"get": {"parameters": [{"name": "projectId", "in": "path", "schema": {"type": "string"}}]}},
              "/api/v1/me/api-keys": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/K"}}}}}},
              "/healthz": {"get": {}}},
             "components": {"schemas": {"K": {"type": "object", "properties": {"name": {"type": ["null", "string"]}, "days": {"type": ["null", "integer"], "format": "int32"}}}}}}
            """)!;
        var cases = new FuzzCases(document, new FuzzWorld("p", "e", "r", "d", "t", "1", null!), new Random(1)).All();

        Assert.Equal(["GET /api/v1/projects/{projectId}", "POST /api/v1/me/api-keys"], cases.Select(c => c.Operation.ToString()).Distinct());
        var baselines = cases.Where(c => c.Mutation == "baseline").ToDictionary(c => (c.Operation.Method, c.User), c => c.MustRefuse);
        Assert.True(baselines[("GET", FuzzUser.Anonymous)] && baselines[("GET", FuzzUser.Outsider)] && !baselines[("GET", FuzzUser.Viewer)]);
        Assert.True(baselines[("POST", FuzzUser.Anonymous)] && !baselines[("POST", FuzzUser.Viewer)]); // one's own keys
        Assert.Contains(cases, c => c is { Mutation: "days: 1e400", MustRefuse: true } && c.Body!.Contains("\"days\": 1e400"));
        Assert.Contains(cases, c => c is { Mutation: "name twice", MustRefuse: true } && c.Body!.Split("\"name\"").Length == 3);
        Assert.Contains(cases, c => c is { Mutation: "path projectId=%20", MustRefuse: true } && c.Url == "/api/v1/projects/%20");
        Assert.Contains(cases, c => c is { Mutation: "charset bogus", MustRefuse: true, ContentType: "application/json; charset=bogus-9" });
        Assert.Contains(cases, c => c is { Mutation: "name: null", MustRefuse: false });
    }

    /// <summary>A project with a viewer, an experiment, a run that can never train, a dataset and a user to act on.</summary>
    async Task<FuzzWorld> WorldAsync(int seed)
    {
        var viewer = await app.NewUserAsync("fuzz-viewer");
        var target = await app.NewUserAsync("fuzz-target");
        var project = await app.NewProjectAsync("fuzz", (viewer, "viewer"));
        var experiment = await app.NewExperimentAsync(project, "fuzz");
        var run = await (await app.Admin.PostJsonAsync("/api/v1/runs", new
        {
            experiment_id = experiment, preset = "tiny-cpu", resources = new { gpus = 1 }, max_retries = 0,
            overrides = new Dictionary<string, object> { ["data.datasets[0].path"] = "/fuzz/no-data", ["tokenizer"] = "/fuzz/no-tokenizer.json" },
        })).ExpectJsonAsync(HttpStatusCode.Created);
        var dataset = Names.Unique("fuzz-data");
        await (await app.Admin.PostJsonAsync("/api/v1/datasets", new { id = dataset })).ExpectAsync(HttpStatusCode.Created);
        return new FuzzWorld(project, experiment, run.Str("id"), dataset, target.Name, seed.ToString(), viewer.Api);
    }

    /// <summary>A launch the fuzz got accepted is cancelled at once: it was never meant to train.</summary>
    async Task CancelLaunchedRunAsync(FuzzCase fuzz, HttpStatusCode status, string answer)
    {
        if (status != HttpStatusCode.Created || fuzz.Operation is not { Method: "POST", Template: "/api/v1/runs" }) return;
        var id = JsonNode.Parse(answer)?["id"]?.GetValue<string>();
        if (id is not null) using (await app.Admin.PostJsonAsync($"/api/v1/runs/{id}/cancel", new { reason = "fuzz" })) { }
    }

    static string Excerpt(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length > 300 ? line[..300] + "..." : line;
    }
}
