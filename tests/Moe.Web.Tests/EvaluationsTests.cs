using System.Net;
using System.Text.Json.Nodes;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Web.Tests;

/// <summary>
/// Scheduled and one-off evaluations through the API with Hangfire and the real trainer: a schedule's recurring job in
/// Hangfire's storage, evaluations run now and by the recurring job, retries ending in a visible failure, the refusals,
/// and the admin-only dashboard.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class EvaluationsTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Once a year: the tests fire the recurring job themselves rather than wait for its time.
    const string Yearly = "0 0 1 1 *";

    RecurringJobDto? RecurringJob(string scheduleId)
    {
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs().SingleOrDefault(j => j.Id == $"evaluation-schedule-{scheduleId}");
    }

    [Fact]
    public async Task A_schedule_registers_a_recurring_job_whose_evaluations_succeed()
    {
        var run = await EvaluationRun.ForAsync(app);
        using var created = await run.Member.Api.PostJsonAsync("/api/v1/evaluation-schedules", new
        {
            project_id = run.Project, name = "yearly", run_id = run.RunId, dataset_id = run.Dataset, windows = 8, arithmetic_problems = 3, cron = Yearly,
        });
        var schedule = await created.ExpectJsonAsync(HttpStatusCode.Created);
        var id = schedule.Str("id");
        Assert.Equal($"/api/v1/evaluation-schedules/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal(run.RunId, schedule.Str("run_id"));
        Assert.Null(schedule["dataset_version"]); // the newest ready version each time it runs
        Assert.True(schedule["enabled"]!.GetValue<bool>());
        Assert.Null(schedule["last_run_at"]);

        var recurring = RecurringJob(id);
        Assert.NotNull(recurring);
        Assert.Equal(Yearly, recurring.Cron);
        Assert.Equal(TimeZoneInfo.Utc.Id, recurring.TimeZoneId);

        // Now through the API, and through Hangfire as the cron would fire it.
        var manual = await (await run.Member.Api.PostJsonAsync($"/api/v1/evaluation-schedules/{id}/run", new { })).ExpectJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal("manual", manual.Str("trigger"));
        Assert.Equal(id, manual.Str("schedule_id"));
        app.Services.GetRequiredService<IRecurringJobManager>().Trigger($"evaluation-schedule-{id}");

        var evaluations = await Poll.UntilAsync(async () =>
        {
            var items = (await run.Viewer.Api.GetJsonAsync($"/api/v1/evaluations?schedule_id={id}")).Arr("items");
            if (items.FirstOrDefault(e => e.Str("status") == "failed") is { } failed) throw new InvalidOperationException($"an evaluation failed: {failed["error"]}");
            return items.Count == 2 && items.All(e => e.Str("status") == "succeeded") ? items : null;
        }, TimeSpan.FromMinutes(2), "the schedule's two evaluations did not succeed");
        Assert.Equal(["manual", "schedule"], evaluations.Select(e => e.Str("trigger")).Order());
        Assert.True(evaluations[0]!["created_at"]!.GetValue<DateTime>() >= evaluations[1]!["created_at"]!.GetValue<DateTime>()); // newest first
        foreach (var listed in evaluations)
        {
            Assert.Null(listed!["results"]); // by id only
            var evaluation = await run.Viewer.Api.GetJsonAsync($"/api/v1/evaluations/{listed.Str("id")}");
            Assert.Equal(EvaluationRun.NewestStep, evaluation.Long("checkpoint_step"));
            Assert.Equal(run.RunId, evaluation.Str("run_id"));
            Assert.Equal("yearly", evaluation.Str("name"));
            Assert.Equal(1, evaluation.Long("attempts"));
            Assert.Null(evaluation["error"]);
            double valLoss = Number(evaluation, "val_loss"), valPpl = Number(evaluation, "val_ppl");
            Assert.True(double.IsFinite(valLoss) && valLoss > 0, $"val_loss {valLoss}");
            Assert.True(Math.Abs(valPpl - Math.Exp(valLoss)) <= 1e-6 * Math.Exp(valLoss), $"val_ppl {valPpl}, exp(val_loss) {Math.Exp(valLoss)}");
            Assert.InRange(Number(evaluation, "exact_match"), 0, 1);
            Assert.True(Number(evaluation, "max_over_mean") >= 1, $"max_over_mean {evaluation["max_over_mean"]}");
            Assert.InRange(Number(evaluation, "drop_fraction"), 0, 1);

            var results = evaluation["results"]!;
            Assert.Equal(EvaluationRun.NewestStep, results.Long("step"));
            Assert.Equal($"dataset:{run.Dataset}@1", results.Str("data"));
            Assert.Equal(8, results.Long("windows"));
            Assert.Equal(valLoss, results["val_loss"]!.GetValue<double>());
            var layers = results.Arr("router");
            Assert.Equal(2, layers.Count); // tiny-cpu: two MoE blocks
            Assert.Equal(layers.Max(l => l!["max_over_mean"]!.GetValue<double>()), Number(evaluation, "max_over_mean"));
            Assert.Equal(3, results["arithmetic"]!.Long("problems"));
        }
        Assert.NotNull((await run.Viewer.Api.GetJsonAsync($"/api/v1/evaluation-schedules/{id}"))["last_run_at"]?.GetValue<DateTime>());
        Assert.Contains((await run.Viewer.Api.GetJsonAsync($"/api/v1/evaluation-schedules?project_id={run.Project}")).Arr(), s => s.Str("id") == id);

        // Viewers read but change nothing; outsiders see nothing.
        await (await run.Viewer.Api.PostJsonAsync($"/api/v1/evaluation-schedules/{id}/run", new { })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await run.Viewer.Api.DeleteAsync($"/api/v1/evaluation-schedules/{id}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        var outsider = await app.NewUserAsync("eval-outsider");
        await (await outsider.Api.GetAsync($"/api/v1/evaluation-schedules/{id}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await outsider.Api.GetAsync($"/api/v1/evaluations/{manual.Str("id")}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(0, (await outsider.Api.GetJsonAsync($"/api/v1/evaluations?run_id={run.RunId}")).Long("total"));

        // Disabling removes the recurring job, enabling with a new cron brings it back; deleting keeps the evaluations.
        var update = new { name = "weekly", run_id = run.RunId, dataset_id = run.Dataset, dataset_version = 1, windows = 8, cron = "0 4 * * 1", enabled = false };
        var disabled = await (await run.Member.Api.PutJsonAsync($"/api/v1/evaluation-schedules/{id}", update)).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.False(disabled["enabled"]!.GetValue<bool>());
        Assert.Null(RecurringJob(id));
        await (await run.Member.Api.PutJsonAsync($"/api/v1/evaluation-schedules/{id}", update with { enabled = true })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal("0 4 * * 1", RecurringJob(id)?.Cron);
        await (await run.Member.Api.DeleteAsync($"/api/v1/evaluation-schedules/{id}", Ct)).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Null(RecurringJob(id));
        await (await run.Member.Api.GetAsync($"/api/v1/evaluation-schedules/{id}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "id");
        var kept = await run.Member.Api.GetJsonAsync($"/api/v1/evaluations/{manual.Str("id")}");
        Assert.Null(kept["schedule_id"]);
        Assert.Equal("succeeded", kept.Str("status"));
    }

    [Fact]
    public async Task A_failing_evaluation_is_retried_then_fails_with_its_error()
    {
        var run = await EvaluationRun.ForAsync(app);
        // A model version whose checkpoint files are gone from the artifact store.
        var model = Names.Unique("eval-model");
        var promoted = await (await run.Member.Api.PostJsonAsync($"/api/v1/runs/{run.RunId}/checkpoints/{EvaluationRun.OlderStep}/promote",
            new { model, alias = "candidate" })).ExpectJsonAsync(HttpStatusCode.Created);
        await app.Services.GetRequiredService<IArtifactStore>().DeletePrefixAsync(promoted.Str("artifact_prefix").TrimEnd('/') + "/", Ct);

        var queued = await (await run.Member.Api.PostJsonAsync("/api/v1/evaluations", new { model_name = model, model_version = "candidate", arithmetic_problems = 2 }))
            .ExpectJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal("queued", queued.Str("status"));
        Assert.Equal(model, queued.Str("model"));
        Assert.Equal(1, queued.Long("model_version"));
        Assert.Equal(run.Project, queued.Str("project_id"));
        Assert.Equal(run.RunId, queued.Str("run_id"));

        var failed = await Poll.UntilAsync(async () =>
        {
            var evaluation = await run.Member.Api.GetJsonAsync($"/api/v1/evaluations/{queued.Str("id")}");
            Assert.NotEqual("succeeded", evaluation.Str("status"));
            return evaluation.Str("status") == "failed" ? evaluation : null;
        }, TimeSpan.FromMinutes(1), "the evaluation did not fail");
        Assert.Equal(3, failed.Long("attempts")); // Evaluations:RetryDelays "0,0" in the tests: two retries
        Assert.Contains("not in the artifact store", failed.Str("error"));
        Assert.Equal(EvaluationRun.OlderStep, failed.Long("checkpoint_step"));
        Assert.NotNull(failed["finished_at"]?.GetValue<DateTime>());
        Assert.Null(failed["val_loss"]);
    }

    [Fact]
    public async Task Schedule_and_evaluation_refusals_name_the_field()
    {
        var run = await EvaluationRun.ForAsync(app);
        var otherProject = await app.NewProjectAsync("evals-other", (run.Member, "member"));
        JsonObject Schedule(params (string Key, JsonNode? Value)[] changes)
        {
            var body = new JsonObject
            {
                ["project_id"] = run.Project, ["name"] = "refused", ["run_id"] = run.RunId, ["dataset_id"] = run.Dataset, ["cron"] = "*/5 * * * *",
            };
            foreach (var (key, value) in changes) body[key] = value;
            return body;
        }
        (JsonObject Body, HttpStatusCode Status, string? Field)[] cases =
        [
            (Schedule(("cron", "every minute")), HttpStatusCode.BadRequest, "cron"),
            (Schedule(("cron", "61 * * * *")), HttpStatusCode.BadRequest, "cron"),
            (Schedule(("cron", "*/5 * * * * *")), HttpStatusCode.BadRequest, "cron"), // seconds
            (Schedule(("cron", null)), HttpStatusCode.BadRequest, "cron"),
            (Schedule(("name", " ")), HttpStatusCode.BadRequest, "name"),
            (Schedule(("model_name", "some-model")), HttpStatusCode.BadRequest, "run_id"), // both
            (Schedule(("run_id", null)), HttpStatusCode.BadRequest, "run_id"), // neither
            (Schedule(("run_id", Names.Unique("no-run"))), HttpStatusCode.BadRequest, "run_id"),
            (Schedule(("project_id", otherProject)), HttpStatusCode.BadRequest, "run_id"), // the run is another project's
            (Schedule(("run_id", null), ("model_name", Names.Unique("no-model"))), HttpStatusCode.BadRequest, "model_name"),
            (Schedule(("dataset_id", Names.Unique("no-data"))), HttpStatusCode.BadRequest, "dataset_id"),
            (Schedule(("dataset_version", 9)), HttpStatusCode.BadRequest, "dataset_version"),
            (Schedule(("dataset_id", null)), HttpStatusCode.BadRequest, "dataset_id"), // nothing to evaluate
            (Schedule(("windows", 0)), HttpStatusCode.BadRequest, "windows"),
            (Schedule(("windows", 10_001)), HttpStatusCode.BadRequest, "windows"),
            (Schedule(("arithmetic_problems", -1)), HttpStatusCode.BadRequest, "arithmetic_problems"),
            (Schedule(("arithmetic_problems", 10_001)), HttpStatusCode.BadRequest, "arithmetic_problems"),
            (Schedule(("project_id", Names.Unique("no-project"))), HttpStatusCode.NotFound, "project"),
        ];
        foreach (var (body, status, field) in cases)
            await (await run.Member.Api.PostJsonAsync("/api/v1/evaluation-schedules", body)).ExpectProblemAsync(status, field);
        // Viewers may not create; outsiders may not either.
        await (await run.Viewer.Api.PostJsonAsync("/api/v1/evaluation-schedules", Schedule())).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await run.Viewer.Api.PostJsonAsync("/api/v1/evaluations", new { run_id = run.RunId, arithmetic_problems = 1 })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.DoesNotContain((await run.Member.Api.GetJsonAsync($"/api/v1/evaluation-schedules?project_id={run.Project}")).Arr(), s => s.Str("name") == "refused");

        // One-off evaluations check the same target fields.
        await (await run.Member.Api.PostJsonAsync("/api/v1/evaluations", new { run_id = run.RunId })).ExpectProblemAsync(HttpStatusCode.BadRequest, "dataset_id");
        await (await run.Member.Api.PostJsonAsync("/api/v1/evaluations", new { run_id = run.RunId, model_name = "m", arithmetic_problems = 1 }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "run_id");
        await (await run.Member.Api.PostJsonAsync("/api/v1/evaluations", new { project_id = otherProject, run_id = run.RunId, arithmetic_problems = 1 }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "run_id");
        await (await run.Member.Api.GetAsync("/api/v1/evaluations?page_size=0", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "page_size");
        await (await run.Member.Api.GetAsync($"/api/v1/evaluations/{Guid.NewGuid()}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "id");
        await (await run.Member.Api.PostJsonAsync($"/api/v1/evaluation-schedules/{Guid.NewGuid()}/run", new { })).ExpectProblemAsync(HttpStatusCode.NotFound, "id");
    }

    [Fact]
    public async Task The_hangfire_dashboard_is_for_platform_admins_only()
    {
        using (var anonymous = app.Anonymous())
        using (var response = await anonymous.GetAsync("/hangfire", Ct))
        {
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Redirect, $"anonymous: {(int)response.StatusCode}");
            if (response.Headers.Location is { } location) // the sign-in form
                Assert.StartsWith("/login", location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString);
        }
        var user = await app.NewUserAsync("dash-user");
        Assert.Equal(HttpStatusCode.Forbidden, (await user.Cookie.GetAsync("/hangfire", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.Api.GetAsync("/hangfire/recurring", Ct)).StatusCode);
        using var dashboard = await app.Admin.GetAsync("/hangfire", Ct);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("MoE platform jobs", await dashboard.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, (await app.Admin.GetAsync("/hangfire/recurring", Ct)).StatusCode);
    }

    static double Number(JsonNode node, string name) =>
        node[name]?.GetValue<double>() ?? throw new InvalidOperationException($"no number '{name}' in {node.ToJsonString()}");
}
