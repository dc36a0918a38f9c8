using System.Net;

namespace Moe.Web.Tests;

/// <summary>/api/v1/experiments: create, read, rename, list by project, refusals naming the field, delete (not while runs are active).</summary>
[Collection(WebAppCollection.Name)]
public sealed class ExperimentsTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Create_get_patch_and_list_by_project()
    {
        var member = await app.NewUserAsync("exp-member");
        var project = await app.NewProjectAsync("exps", (member, "member"));
        var other = await app.NewProjectAsync("exps-other", (member, "member"));
        var name = $"Top-2 vs Top-1! {Guid.NewGuid():N}"[..24];

        using var created = await member.Api.PostJsonAsync("/api/v1/experiments", new { project, name, description = "  routing  " });
        var experiment = await created.ExpectJsonAsync(HttpStatusCode.Created);
        var id = experiment.Str("id");
        Assert.StartsWith("top-2-vs-top-1-", id); // a readable id from the name
        Assert.Equal($"/api/v1/experiments/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal(project, experiment.Str("project"));
        Assert.Equal(name, experiment.Str("name"));
        Assert.Equal("routing", experiment.Str("description"));
        Assert.Equal(0, experiment.Long("runs"));
        Assert.Equal(0, experiment.Long("active_runs"));
        Assert.Null(experiment["deleted_at"]?.GetValue<DateTime>());

        var fetched = await member.Api.GetJsonAsync(created.Headers.Location!.OriginalString);
        Assert.Equal(name, fetched.Str("name"));

        var renamed = await (await member.Api.PatchJsonAsync($"/api/v1/experiments/{id}", new { name = name + " v2", description = "changed" }))
            .ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal(name + " v2", renamed.Str("name"));
        Assert.Equal("changed", renamed.Str("description"));
        Assert.Equal(name + " v2", (await member.Api.GetJsonAsync($"/api/v1/experiments/{id}")).Str("name"));
        // Only the description: the name stays.
        var described = await (await member.Api.PatchJsonAsync($"/api/v1/experiments/{id}", new { description = "again" })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal(name + " v2", described.Str("name"));

        var inOther = (await (await member.Api.PostJsonAsync("/api/v1/experiments", new { project = other, name = Names.Unique("elsewhere") }))
            .ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        var listed = await member.Api.GetJsonAsync($"/api/v1/experiments?project={project}");
        Assert.Equal([id], listed.Arr().Select(e => e.Str("id")));
        var all = await member.Api.GetJsonAsync("/api/v1/experiments");
        Assert.Contains(all.Arr(), e => e.Str("id") == id);
        Assert.Contains(all.Arr(), e => e.Str("id") == inOther);
        Assert.All(all.Arr(), e => Assert.Contains(e.Str("project"), new[] { project, other }));
    }

    [Fact]
    public async Task Refusals_name_the_field()
    {
        var project = await app.NewProjectAsync("exp-refusals");
        var name = Names.Unique("taken");
        var id = (await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project, name })).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");

        // Names are unique; the same name is refused even with another id.
        await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project, name })).ExpectProblemAsync(HttpStatusCode.Conflict, "name");
        await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project, name, id = Names.Unique("explicit") }))
            .ExpectProblemAsync(HttpStatusCode.Conflict, "name");
        var second = (await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project, name = Names.Unique("second") })).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        await (await app.Admin.PatchJsonAsync($"/api/v1/experiments/{second}", new { name })).ExpectProblemAsync(HttpStatusCode.Conflict, "name");
        // An explicit id that is taken.
        await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project, name = Names.Unique("n"), id })).ExpectProblemAsync(HttpStatusCode.Conflict);

        var missing = await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project })).ExpectProblemAsync(HttpStatusCode.BadRequest, "name");
        Assert.Equal("is required", missing["errors"]!["name"]![0]!.GetValue<string>());
        await (await app.Admin.PatchJsonAsync($"/api/v1/experiments/{id}", new { name = " " })).ExpectProblemAsync(HttpStatusCode.BadRequest, "name");
        await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project, name = new string('x', 500) })).ExpectProblemAsync(HttpStatusCode.BadRequest, "name");
        await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project = "Bad Project", name = "x" })).ExpectProblemAsync(HttpStatusCode.BadRequest, "project");
        await (await app.Admin.PostJsonAsync("/api/v1/experiments", new { project = Names.Unique("nope"), name = "x" })).ExpectProblemAsync(HttpStatusCode.NotFound, "project");

        var unknown = Names.Unique("nope");
        await (await app.Admin.GetAsync($"/api/v1/experiments/{unknown}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "experiment_id");
        await (await app.Admin.PatchJsonAsync($"/api/v1/experiments/{unknown}", new { name = "x" })).ExpectProblemAsync(HttpStatusCode.NotFound, "experiment_id");
        await (await app.Admin.DeleteAsync($"/api/v1/experiments/{unknown}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "experiment_id");

        // A body that is not JSON is a problem too.
        using var notJson = await app.Admin.PostAsync("/api/v1/experiments", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"), Ct);
        await notJson.ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Deleting_is_refused_while_a_run_is_active_and_keeps_the_experiment_in_history()
    {
        var project = await app.NewProjectAsync("exp-delete");
        var experiment = await app.NewExperimentAsync(project, "busy");
        var dataset = await app.SharedDatasetAsync();
        var runId = (await (await app.Admin.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 400)))
            .ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        Assert.Equal(1, (await app.Admin.GetJsonAsync($"/api/v1/experiments/{experiment}")).Long("active_runs"));

        await (await app.Admin.DeleteAsync($"/api/v1/experiments/{experiment}", Ct)).ExpectProblemAsync(HttpStatusCode.Conflict);

        await (await app.Admin.PostJsonAsync($"/api/v1/runs/{runId}/cancel", new { })).ExpectJsonAsync(HttpStatusCode.OK);
        await (await app.Admin.DeleteAsync($"/api/v1/experiments/{experiment}", Ct)).ExpectAsync(HttpStatusCode.NoContent);

        var deleted = await app.Admin.GetJsonAsync($"/api/v1/experiments/{experiment}");
        Assert.NotNull(deleted["deleted_at"]?.GetValue<DateTime>());
        Assert.Equal(1, deleted.Long("runs"));
        Assert.Equal(0, deleted.Long("active_runs"));
        Assert.DoesNotContain((await app.Admin.GetJsonAsync($"/api/v1/experiments?project={project}")).Arr(), e => e.Str("id") == experiment);
        Assert.Contains((await app.Admin.GetJsonAsync($"/api/v1/experiments?project={project}&include_deleted=true")).Arr(), e => e.Str("id") == experiment);
        // A deleted experiment admits no runs, and its cancelled run cannot be resumed into it.
        await (await app.Admin.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 12))).ExpectProblemAsync(HttpStatusCode.Conflict);
        await (await app.Admin.PostJsonAsync($"/api/v1/runs/{runId}/resume", new { })).ExpectProblemAsync(HttpStatusCode.Conflict);
    }
}
