using System.Net;

namespace Moe.Web.Tests;

/// <summary>GET /api/v1/runs: filters and paging, and refusals of bad query values naming the parameter.</summary>
[Collection(WebAppCollection.Name)]
public sealed class RunListTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Runs_are_listed_newest_first_filtered_and_paged()
    {
        var project = await app.NewProjectAsync("paging");
        var experiment = await app.NewExperimentAsync(project, "paging");
        var other = await app.NewExperimentAsync(project, "paging-other");
        var dataset = await app.SharedDatasetAsync();
        var ids = new List<string>();
        foreach (var name in (string[])["first", "second", "third"])
        {
            var id = (await (await app.Admin.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 12, name: $"page {name}")))
                .ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
            ids.Add(id);
            // Not about training: cancelled at once (queued, or stopped on the worker).
            await (await app.Admin.PostJsonAsync($"/api/v1/runs/{id}/cancel", new { })).ExpectJsonAsync(HttpStatusCode.OK);
        }
        var elsewhere = (await (await app.Admin.PostJsonAsync("/api/v1/runs", Runs.Launch(other, dataset, steps: 12))).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        await (await app.Admin.PostJsonAsync($"/api/v1/runs/{elsewhere}/cancel", new { })).ExpectJsonAsync(HttpStatusCode.OK);

        var page2 = await app.Admin.GetJsonAsync($"/api/v1/runs?experiment_id={experiment}&page_size=1&page=2");
        Assert.Equal(3, page2.Long("total"));
        Assert.Equal(2, page2.Long("page"));
        Assert.Equal(1, page2.Long("page_size"));
        var item = Assert.Single(page2.Arr("items"))!;
        Assert.Equal(ids[1], item.Str("id")); // newest first: third, second, first
        Assert.Null(item["config"]); // lists leave the config out

        var all = await app.Admin.GetJsonAsync($"/api/v1/runs?experiment_id={experiment}");
        Assert.Equal([ids[2], ids[1], ids[0]], all.Arr("items").Select(r => r.Str("id")));
        var beyond = await app.Admin.GetJsonAsync($"/api/v1/runs?experiment_id={experiment}&page_size=2&page=3");
        Assert.Equal(3, beyond.Long("total"));
        Assert.Empty(beyond.Arr("items"));

        var byProject = await app.Admin.GetJsonAsync($"/api/v1/runs?project={project}&status=cancelled,failed");
        Assert.Equal(4, byProject.Long("total"));
        Assert.All(byProject.Arr("items"), r => Assert.Equal("cancelled", r.Str("status")));
        Assert.Equal(0, (await app.Admin.GetJsonAsync($"/api/v1/runs?project={project}&status=running,Queued")).Long("total"));
        var search = await app.Admin.GetJsonAsync($"/api/v1/runs?project={project}&q=page%20sec");
        Assert.Equal([ids[1]], search.Arr("items").Select(r => r.Str("id")));

        await (await app.Admin.GetAsync("/api/v1/runs?status=bogus", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "status");
        await (await app.Admin.GetAsync("/api/v1/runs?page_size=0", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "page_size");
        await (await app.Admin.GetAsync("/api/v1/runs?page_size=201", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "page_size");
        await (await app.Admin.GetAsync("/api/v1/runs?page=0", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "page");
        // A page far beyond the end is empty or refused, never another page's runs.
        var far = await app.Admin.GetJsonAsync($"/api/v1/runs?experiment_id={experiment}&page=40000000");
        Assert.Equal(3, far.Long("total"));
        Assert.Empty(far.Arr("items"));
        await (await app.Admin.GetAsync($"/api/v1/runs?experiment_id={experiment}&page=50000000", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "page");
        await (await app.Admin.GetAsync($"/api/v1/runs?project={Names.Unique("nope")}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "project");
    }
}
