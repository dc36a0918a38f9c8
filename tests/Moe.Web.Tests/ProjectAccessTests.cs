using System.Net;

namespace Moe.Web.Tests;

/// <summary>Projects and roles: platform admins create projects, project admins manage members, viewers only read, outsiders see nothing.</summary>
[Collection(WebAppCollection.Name)]
public sealed class ProjectAccessTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Only_platform_admins_create_projects()
    {
        var user = await app.NewUserAsync("creator");
        var id = Names.Unique("proj");
        await (await user.Api.PostJsonAsync("/api/v1/projects", new { id, name = "Mine" })).ExpectProblemAsync(HttpStatusCode.Forbidden);

        using var created = await app.Admin.PostJsonAsync("/api/v1/projects", new { id, name = "Theirs", description = "made by the admin" });
        var project = await created.ExpectJsonAsync(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/projects/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal("admin", project.Str("role"));
        await (await app.Admin.PostJsonAsync("/api/v1/projects", new { id, name = "Again" })).ExpectProblemAsync(HttpStatusCode.Conflict, "id");
        await (await app.Admin.PostJsonAsync("/api/v1/projects", new { id = "Not An Id", name = "x" })).ExpectProblemAsync(HttpStatusCode.BadRequest, "id");
        await (await app.Admin.PostJsonAsync("/api/v1/projects", new { id = Names.Unique("p"), name = "" })).ExpectProblemAsync(HttpStatusCode.BadRequest, "name");
        // Without a role the new project is invisible to the user, and a project that does not exist is 404 before any role question.
        Assert.DoesNotContain((await user.Api.GetJsonAsync("/api/v1/projects")).Arr(), p => p.Str("id") == id);
        await (await user.Api.GetAsync($"/api/v1/projects/{id}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await user.Api.GetAsync($"/api/v1/projects/{Names.Unique("nope")}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "project");
    }

    [Fact]
    public async Task A_project_admin_manages_members_and_members_cannot()
    {
        var owner = await app.NewUserAsync("owner");
        var member = await app.NewUserAsync("member");
        var viewer = await app.NewUserAsync("viewer");
        var project = await app.NewProjectAsync("team", (owner, "admin"));

        await (await owner.Api.PutJsonAsync($"/api/v1/projects/{project}/members/{member.Name}", new { role = "member" })).ExpectJsonAsync(HttpStatusCode.OK);
        var set = await (await owner.Api.PutJsonAsync($"/api/v1/projects/{project}/members/{viewer.Name}", new { role = "viewer" })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal("viewer", set.Str("role"));

        var members = await member.Api.GetJsonAsync($"/api/v1/projects/{project}/members");
        Assert.Equal(new[] { (owner.Name, "admin"), (member.Name, "member"), (viewer.Name, "viewer") }.OrderBy(m => m.Item1, StringComparer.Ordinal),
            members.Arr().Select(m => (m.Str("user_name"), m.Str("role"))));
        Assert.Equal("member", (await member.Api.GetJsonAsync("/api/v1/me"))["projects"]![project]!.GetValue<string>());
        Assert.Equal("member", Assert.Single((await member.Api.GetJsonAsync("/api/v1/projects")).Arr(), p => p.Str("id") == project)!.Str("role"));

        // A member is not a project admin.
        await (await member.Api.PutJsonAsync($"/api/v1/projects/{project}/members/{viewer.Name}", new { role = "admin" })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await member.Api.DeleteAsync($"/api/v1/projects/{project}/members/{viewer.Name}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        // Bad requests name the field.
        await (await owner.Api.PutJsonAsync($"/api/v1/projects/{project}/members/{viewer.Name}", new { })).ExpectProblemAsync(HttpStatusCode.BadRequest, "role");
        await (await owner.Api.PutJsonAsync($"/api/v1/projects/{project}/members/{Names.Unique("ghost")}", new { role = "viewer" }))
            .ExpectProblemAsync(HttpStatusCode.NotFound, "user_name");
        using (var badRole = await owner.Api.PutAsync($"/api/v1/projects/{project}/members/{viewer.Name}",
                   new StringContent("""{"role":"owner"}""", System.Text.Encoding.UTF8, "application/json"), Ct))
            await badRole.ExpectProblemAsync(HttpStatusCode.BadRequest);

        // Promote, then remove.
        await (await owner.Api.PutJsonAsync($"/api/v1/projects/{project}/members/{viewer.Name}", new { role = "member" })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal("member", (await viewer.Api.GetJsonAsync("/api/v1/me"))["projects"]![project]!.GetValue<string>());
        await (await owner.Api.DeleteAsync($"/api/v1/projects/{project}/members/{viewer.Name}", Ct)).ExpectAsync(HttpStatusCode.NoContent);
        await (await viewer.Api.GetAsync($"/api/v1/projects/{project}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await owner.Api.DeleteAsync($"/api/v1/projects/{project}/members/{viewer.Name}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "user_name");
    }

    [Fact]
    public async Task Viewers_read_but_cannot_change_and_outsiders_neither_see_nor_touch_the_projects_work()
    {
        var member = await app.NewUserAsync("member");
        var viewer = await app.NewUserAsync("viewer");
        var outsider = await app.NewUserAsync("outsider");
        var project = await app.NewProjectAsync("roles", (member, "member"), (viewer, "viewer"));
        var dataset = await app.SharedDatasetAsync();

        // Viewers cannot create experiments; members can.
        await (await viewer.Api.PostJsonAsync("/api/v1/experiments", new { project, name = Names.Unique("by-viewer") })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        var experiment = (await (await member.Api.PostJsonAsync("/api/v1/experiments", new { project, name = Names.Unique("by-member") }))
            .ExpectJsonAsync(HttpStatusCode.Created)).Str("id");

        // Viewers cannot launch runs; members can (cancelled at once: this test is about access, not training).
        var launch = Runs.Launch(experiment, dataset, steps: 400);
        await (await viewer.Api.PostJsonAsync("/api/v1/runs", launch)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        var runId = (await (await member.Api.PostJsonAsync("/api/v1/runs", launch)).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        await (await viewer.Api.PostJsonAsync($"/api/v1/runs/{runId}/cancel", new { })).ExpectProblemAsync(HttpStatusCode.Forbidden);

        // The cluster view names the run to the project's viewers (queued or placed), and only counts it for outsiders.
        static bool InCluster(System.Text.Json.Nodes.JsonNode cluster, string id) =>
            cluster.Arr("queue").Any(q => q.Str("run_id") == id) || cluster.Arr("workers").Any(w => w!.Arr("runs").Any(r => r.Str("run_id") == id));
        await Poll.UntilAsync(async () => InCluster(await viewer.Api.GetJsonAsync("/api/v1/cluster"), runId) ? true : (bool?)null,
            TimeSpan.FromSeconds(30), "the viewer never saw the run in the cluster view");
        var hidden = await outsider.Api.GetJsonAsync("/api/v1/cluster");
        Assert.False(InCluster(hidden, runId));
        Assert.True(hidden.Long("hidden_runs") >= 1, hidden.ToJsonString());
        Assert.Single(hidden.Arr("workers")); // workers are shown to everyone

        var cancelled = await (await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/cancel", new { reason = "only testing access" })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal("cancelled", cancelled.Str("status"));
        await (await viewer.Api.PostJsonAsync($"/api/v1/runs/{runId}/resume", new { })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await viewer.Api.PatchJsonAsync($"/api/v1/experiments/{experiment}", new { description = "viewer was here" })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await viewer.Api.DeleteAsync($"/api/v1/experiments/{experiment}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);

        // Viewers read everything of the project.
        Assert.Equal(experiment, (await viewer.Api.GetJsonAsync($"/api/v1/experiments/{experiment}")).Str("id"));
        Assert.Equal(runId, (await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}")).Str("id"));
        Assert.Contains((await viewer.Api.GetJsonAsync("/api/v1/runs")).Arr("items"), r => r.Str("id") == runId);
        Assert.Contains((await viewer.Api.GetJsonAsync("/api/v1/experiments")).Arr(), e => e.Str("id") == experiment);
        await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/transitions");

        // Outsiders: 403 on the experiment and the run and everything under it, and none of it in their lists.
        foreach (var path in (string[])[$"/api/v1/experiments/{experiment}", $"/api/v1/runs/{runId}", $"/api/v1/runs/{runId}/transitions",
                     $"/api/v1/runs/{runId}/metrics", $"/api/v1/runs/{runId}/metrics/query?names=loss", $"/api/v1/runs/{runId}/logs",
                     $"/api/v1/runs/{runId}/checkpoints", $"/api/v1/projects/{project}", $"/api/v1/projects/{project}/members",
                     $"/api/v1/runs?project={project}", $"/api/v1/experiments?project={project}"])
            await (await outsider.Api.GetAsync(path, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await outsider.Api.PostJsonAsync($"/api/v1/runs/{runId}/resume", new { })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await outsider.Api.PostJsonAsync("/api/v1/runs", launch)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        var runs = await outsider.Api.GetJsonAsync("/api/v1/runs");
        Assert.DoesNotContain(runs.Arr("items"), r => r.Str("id") == runId);
        Assert.DoesNotContain(runs.Arr("items"), r => r.Str("project") == project);
        Assert.DoesNotContain((await outsider.Api.GetJsonAsync("/api/v1/experiments")).Arr(), e => e.Str("project") == project);
        Assert.DoesNotContain((await outsider.Api.GetJsonAsync("/api/v1/projects")).Arr(), p => p.Str("id") == project);
        // Ids that do not exist are 404 for everyone, so answers never depend on what one may not see.
        await (await outsider.Api.GetAsync($"/api/v1/runs/{Names.Unique("nope")}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "run_id");
    }
}
