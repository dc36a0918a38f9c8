using System.Net;

namespace Moe.Web.Tests;

/// <summary>Routing analyses through the API: a checkpoint of a trained run analysed on its dataset's documents by Hangfire and the real trainer.</summary>
[Collection(WebAppCollection.Name)]
public sealed class RoutingAnalysisTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_routing_analysis_of_the_newest_checkpoint_completes_with_per_layer_data()
    {
        var run = await EvaluationRun.ForAsync(app);
        using var accepted = await run.Member.Api.PostJsonAsync("/api/v1/routing-analyses", new { run_id = run.RunId, dataset_id = run.Dataset, max_docs = 40 });
        var queued = await accepted.ExpectJsonAsync(HttpStatusCode.Accepted);
        var id = queued.Str("id");
        Assert.Equal($"/api/v1/routing-analyses/{id}", accepted.Headers.Location?.OriginalString);
        Assert.Equal(EvaluationRun.NewestStep, queued.Long("checkpoint_step"));
        Assert.Equal(1, queued.Long("dataset_version"));
        Assert.Equal(40, queued.Long("max_docs"));
        Assert.Equal(run.Project, queued.Str("project_id"));

        var done = await EvaluationRun.SucceededAsync(run.Viewer.Api, $"/api/v1/routing-analyses/{id}");
        Assert.Equal(1, done.Long("attempts"));
        var results = done["results"]!;
        Assert.Equal(EvaluationRun.NewestStep, results.Long("step"));
        Assert.Equal($"dataset:{run.Dataset}@1", results.Str("dataset"));
        Assert.InRange(results.Long("documents"), 1, 40);
        Assert.True(results.Long("tokens") > 0);
        int experts = (int)results.Long("experts");
        Assert.Equal(4, experts); // tiny-cpu
        Assert.Equal(["all"], results.Arr("groups").Select(g => g!.GetValue<string>())); // the upload's records have no category
        var layers = results.Arr("layers");
        Assert.Equal([0L, 1L], layers.Select(l => l.Long("layer")));
        foreach (var layer in layers)
        {
            var load = layer.Arr("load").Select(v => v!.GetValue<double>()).ToList();
            Assert.Equal(experts, load.Count);
            Assert.Equal(1.0, load.Sum(), 6);
            Assert.True(layer!["max_over_mean"]!.GetValue<double>() >= 1);
            Assert.Equal("all", Assert.Single(layer.Arr("by_group"))!.Str("group"));
            Assert.Equal(experts, layer.Arr("top_tokens").Count);
            Assert.NotEmpty(layer["drop_by_position"]!.Arr("fractions"));
        }

        var listed = (await run.Viewer.Api.GetJsonAsync($"/api/v1/routing-analyses?run_id={run.RunId}")).Arr("items");
        var item = Assert.Single(listed, a => a.Str("id") == id)!;
        Assert.Equal("succeeded", item.Str("status"));
        Assert.Null(item["results"]); // by id only
        var outsider = await app.NewUserAsync("routing-outsider");
        await (await outsider.Api.GetAsync($"/api/v1/routing-analyses/{id}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await outsider.Api.GetAsync($"/api/v1/routing-analyses?run_id={run.RunId}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Routing_analysis_refusals_name_the_field()
    {
        var run = await EvaluationRun.ForAsync(app);
        (object Body, HttpStatusCode Status, string Field)[] cases =
        [
            (new { run_id = Names.Unique("no-run"), dataset_id = run.Dataset }, HttpStatusCode.NotFound, "run_id"),
            (new { run_id = run.RunId, dataset_id = run.Dataset, checkpoint_step = 5 }, HttpStatusCode.BadRequest, "checkpoint_step"),
            (new { run_id = run.RunId, dataset_id = run.Dataset, max_docs = 0 }, HttpStatusCode.BadRequest, "max_docs"),
            (new { run_id = run.RunId, dataset_id = run.Dataset, max_docs = 10_001 }, HttpStatusCode.BadRequest, "max_docs"),
            (new { run_id = run.RunId }, HttpStatusCode.BadRequest, "dataset_id"),
            (new { run_id = run.RunId, dataset_id = Names.Unique("no-data") }, HttpStatusCode.BadRequest, "dataset_id"),
            (new { run_id = run.RunId, dataset_id = run.Dataset, dataset_version = 9 }, HttpStatusCode.BadRequest, "dataset_version"),
        ];
        foreach (var (body, status, field) in cases)
            await (await run.Member.Api.PostJsonAsync("/api/v1/routing-analyses", body)).ExpectProblemAsync(status, field);
        await (await run.Viewer.Api.PostJsonAsync("/api/v1/routing-analyses", new { run_id = run.RunId, dataset_id = run.Dataset }))
            .ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await run.Viewer.Api.GetAsync($"/api/v1/routing-analyses/{Guid.NewGuid()}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "id");
    }
}
