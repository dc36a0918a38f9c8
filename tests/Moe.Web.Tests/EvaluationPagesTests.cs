using System.Net;
using static Moe.Web.Tests.Pages;

namespace Moe.Web.Tests;

/// <summary>
/// The portal's evaluation and routing-analysis pages as a signed-in browser first gets them (prerendered HTML): the
/// schedules and results each user may see and no others, the actions offered only to members, and an analysis's
/// per-layer tables.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class EvaluationPagesTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Schedules_and_their_results_show_to_the_projects_users_only()
    {
        var run = await EvaluationRun.ForAsync(app);
        var name = Names.Unique("page-schedule");
        var schedule = await (await run.Member.Api.PostJsonAsync("/api/v1/evaluation-schedules", new
        {
            project_id = run.Project, name, run_id = run.RunId, arithmetic_problems = 2, cron = "0 0 1 1 *",
        })).ExpectJsonAsync(HttpStatusCode.Created);
        var id = schedule.Str("id");
        var queued = await (await run.Member.Api.PostJsonAsync($"/api/v1/evaluation-schedules/{id}/run", new { })).ExpectJsonAsync(HttpStatusCode.Accepted);
        var evaluation = await EvaluationRun.SucceededAsync(run.Member.Api, $"/api/v1/evaluations/{queued.Str("id")}");

        // The admin sees every project's schedules: the row names the target and the cron, and links to the schedule's page.
        var html = await Pages.GetAsync(app.Admin, "/evaluations");
        Assert.Contains(TestId("schedules-table"), html);
        var row = Row(html, $"schedule-row-{id}");
        Assert.Contains(name, row);
        Assert.Contains($"href=\"/evaluations/schedules/{id}\"", row);
        Assert.Contains(run.RunId, row);
        Assert.Contains("0 0 1 1 *", row);
        Assert.Contains(">succeeded<", row); // the latest result
        Assert.Contains(TestId($"evaluation-row-{evaluation.Str("id")}"), html);

        // Members are offered the actions; viewers see the same rows without them.
        html = await Pages.GetAsync(run.Member.Cookie, "/evaluations");
        Assert.Contains(TestId("schedule-new"), html);
        Assert.Contains(TestId("schedule-run"), Row(html, $"schedule-row-{id}"));
        html = await Pages.GetAsync(run.Viewer.Cookie, "/evaluations");
        Assert.DoesNotContain(TestId("schedule-run"), Row(html, $"schedule-row-{id}"));
        Assert.Contains(TestId($"evaluation-row-{evaluation.Str("id")}"), html);

        // The schedule's page: its evaluations (the step evaluated, the status) and the charts' containers.
        var detail = await Pages.GetAsync(run.Viewer.Cookie, $"/evaluations/schedules/{id}");
        Assert.Contains(name, detail);
        var result = Row(detail, $"evaluation-row-{evaluation.Str("id")}");
        Assert.Contains(">succeeded<", result);
        Assert.Contains($">{EvaluationRun.NewestStep}<", result);
        Assert.Contains(TestId("schedule-chart-exact"), detail);

        // An outsider sees no schedule and no result of a project they are not in, and no schedule page.
        var outsider = await app.NewUserAsync("page-outsider");
        html = await Pages.GetAsync(outsider.Cookie, "/evaluations");
        Assert.Contains(TestId("schedules-table"), html);
        Assert.DoesNotContain(name, html);
        Assert.DoesNotContain(id, html);
        Assert.DoesNotContain(TestId("schedule-new"), html);
        detail = await Pages.GetAsync(outsider.Cookie, $"/evaluations/schedules/{id}");
        Assert.Contains(TestId("load-error"), detail);
        Assert.DoesNotContain(name, detail);
    }

    [Fact]
    public async Task A_routing_analysis_page_shows_each_layers_numbers_and_top_tokens()
    {
        var run = await EvaluationRun.ForAsync(app);
        var queued = await (await run.Member.Api.PostJsonAsync("/api/v1/routing-analyses",
            new { run_id = run.RunId, checkpoint_step = EvaluationRun.NewestStep, dataset_id = run.Dataset, max_docs = 12 })).ExpectJsonAsync(HttpStatusCode.Accepted);
        var id = queued.Str("id");
        var done = await EvaluationRun.SucceededAsync(run.Member.Api, $"/api/v1/routing-analyses/{id}");
        var layers = done["results"]!.Arr("layers");
        var experts = (int)done["results"]!.Long("experts");

        var html = await Pages.GetAsync(app.Admin, $"/routing-analyses/{id}");
        Assert.Contains(TestId("routing-summary"), html);
        Assert.Contains($"href=\"/runs/{run.RunId}\"", html);
        Assert.Contains(TestId("routing-layers"), html);
        foreach (var layer in layers)
        {
            var row = Row(html, $"routing-layer-row-{layer.Long("layer")}");
            Assert.Contains(layer!["max_over_mean"]!.GetValue<double>().ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), row);
        }
        // The first layer is shown: its group heatmap (one group: the upload has no categories), load bars and token tables.
        var first = layers[0]!;
        Assert.Contains(TestId($"routing-layer-{first.Long("layer")}"), html);
        Assert.Contains("data-groups=\"1\"", html);
        Assert.Contains($"data-experts=\"{experts}\"", html);
        Assert.Contains(TestId("routing-drops"), html);
        foreach (var expert in first.Arr("top_tokens").Where(t => t!.Arr("tokens").Count > 0))
            Assert.Contains(TestId($"routing-top-tokens-{expert.Long("expert")}"), html);
        Assert.Contains(TestId("routing-context-independence"), html);

        // Viewers read it too; an outsider gets the refusal, not the analysis.
        Assert.Contains(TestId("routing-layers"), await Pages.GetAsync(run.Viewer.Cookie, $"/routing-analyses/{id}"));
        var outsider = await app.NewUserAsync("routing-page-outsider");
        html = await Pages.GetAsync(outsider.Cookie, $"/routing-analyses/{id}");
        Assert.Contains(TestId("load-error"), html);
        Assert.DoesNotContain(TestId("routing-layers"), html);
        Assert.Contains(TestId("load-error"), await Pages.GetAsync(app.Admin, $"/routing-analyses/{Guid.NewGuid()}"));
    }
}
