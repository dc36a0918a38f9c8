using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests.Fuzz;

/// <summary>
/// A guard that stays: walks the app's own OpenAPI document and sends every route malformed values (wrong types, nulls,
/// huge and non-finite numbers, odd ids, bad content types and charsets, duplicate keys, oversized and truncated bodies)
/// as anonymous, forged-key, outsider, viewer and admin users. It fails on any 5xx, on any 2xx where a refusal is due,
/// and on any record a refused request left behind. Seeded (MOE_FUZZ_SEED replays another run), bounded in time,
/// loopback only. Its own tests (the oracle, the cases) are in <see cref="FuzzerTests"/>.
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
        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(app.BaseAddress.Host)), $"the app listens on {app.BaseAddress}, not the loopback");
        int seed = int.TryParse(Environment.GetEnvironmentVariable("MOE_FUZZ_SEED"), out var given) ? given : DefaultSeed;
        var outsider = await app.NewUserAsync("fuzz-outsider");
        var (world, viewer) = await WorldAsync(seed);
        var document = await app.Admin.GetJsonAsync("/openapi/v1.json");
        var cases = new FuzzCases(document, world, new Random(seed)).All();
        var clients = new Dictionary<FuzzUser, HttpClient>
        {
            [FuzzUser.Anonymous] = app.Anonymous(),
            [FuzzUser.ForgedKey] = app.BearerClient("moe_forged-key-that-was-never-issued"),
            [FuzzUser.Outsider] = outsider.Api,
            [FuzzUser.Viewer] = viewer.Api,
            [FuzzUser.Admin] = app.Admin,
        };
        using var records = new RecordCounter(app);
        var answers = new List<string>(); // every request and its answer, written to MOE_FUZZ_LOG when set
        var baselines = new Dictionary<string, int>(); // the admin's valid-looking request per operation: its status
        var clock = Stopwatch.StartNew();
        var (sent, failures) = await FuzzRunner.RunAsync(cases, async fuzz =>
        {
            var logged = ServerErrors.Logged;
            using var request = fuzz.Request();
            using var response = await clients[fuzz.User].SendAsync(request, Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            answers.Add($"{(int)response.StatusCode} {fuzz} -> {FuzzCase.Excerpt(body, 300)}");
            return new FuzzAnswer((int)response.StatusCode, body, ServerErrors.Logged == logged ? null : FirstLine(ServerErrors.Recent(1)));
        }, records, Budget, async (fuzz, answer) =>
        {
            if (fuzz is { User: FuzzUser.Admin, Mutation: "baseline" }) baselines[fuzz.Operation.ToString()] = answer.Status;
            await CancelLaunchedRunAsync(fuzz, answer);
        });

        var operations = cases.Select(c => c.Operation.ToString()).Distinct().Count();
        if (Environment.GetEnvironmentVariable("MOE_FUZZ_LOG") is { Length: > 0 } log) await File.WriteAllLinesAsync(log, answers, Ct);
        TestContext.Current.SendDiagnosticMessage($"fuzz seed {seed}: {sent} of {cases.Count} requests over {operations} operations in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, FuzzReport.Format(seed, sent, failures));
        Assert.True(operations >= 50, $"the document listed only {operations} operations under /api/v1");
        Assert.True(sent > cases.Count / 2, $"only {sent} of {cases.Count} requests fit in {Budget}");
        // The mutations of these start from a valid request, so each is refused for its own malformed part and nothing else.
        var refusedBaselines = MustAccept.Where(op => baselines.GetValueOrDefault(op) is not (>= 200 and < 300)).Select(op => $"{op}: {baselines.GetValueOrDefault(op)}");
        Assert.True(!refusedBaselines.Any(), "the admin's valid-looking request was refused, so its mutations test nothing deep: "
            + string.Join(", ", refusedBaselines) + " (see MOE_FUZZ_LOG)");
    }

    /// <summary>The operations whose valid-looking request (the baseline of their mutations) the fuzz world lets succeed.</summary>
    static readonly string[] MustAccept =
    [
        "POST /api/v1/projects", "PUT /api/v1/projects/{projectId}/members/{userName}", "POST /api/v1/me/api-keys", "POST /api/v1/users",
        "PATCH /api/v1/users/{userName}", "POST /api/v1/experiments", "PATCH /api/v1/experiments/{experimentId}", "POST /api/v1/runs",
        "POST /api/v1/datasets", "POST /api/v1/datasets/builtin", "POST /api/v1/evaluation-schedules", "PUT /api/v1/evaluation-schedules/{id}",
    ];

    /// <summary>
    /// A project with a viewer, an experiment, a run that can never train, an evaluation schedule and an evaluation (which
    /// fails: the run has no checkpoint), an empty dataset, the shared ready one, and a user to act on; returns it with the viewer.
    /// </summary>
    async Task<(FuzzWorld, TestUser)> WorldAsync(int seed)
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
        var ready = await app.SharedDatasetAsync();
        var schedule = await (await app.Admin.PostJsonAsync("/api/v1/evaluation-schedules", new
        {
            project_id = project, name = "fuzz", run_id = run.Str("id"), dataset_id = ready, cron = "0 0 1 1 *", enabled = false,
        })).ExpectJsonAsync(HttpStatusCode.Created);
        var evaluation = await (await app.Admin.PostJsonAsync("/api/v1/evaluations", new { project_id = project, run_id = run.Str("id"), dataset_id = ready }))
            .ExpectJsonAsync(HttpStatusCode.Accepted);
        return (new FuzzWorld(project, experiment, run.Str("id"), dataset, ready, target.Name, seed, schedule.Str("id"), evaluation.Str("id")), viewer);
    }

    /// <summary>The exception of a logged error (its first line: type and message).</summary>
    static string FirstLine(string error) => "server: " + (error.Split('\n').Skip(1).FirstOrDefault(l => l.Length > 0) ?? error);

    /// <summary>A launch the fuzz got accepted is cancelled at once: it was never meant to train.</summary>
    async Task CancelLaunchedRunAsync(FuzzCase fuzz, FuzzAnswer answer)
    {
        if (answer.Status != (int)HttpStatusCode.Created || fuzz.Operation is not { Method: "POST", Template: "/api/v1/runs" }) return;
        var id = JsonNode.Parse(answer.Body)?["id"]?.GetValue<string>();
        if (id is not null) using (await app.Admin.PostJsonAsync($"/api/v1/runs/{id}/cancel", new { reason = "fuzz" })) { }
    }
}
