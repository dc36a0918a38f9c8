using System.Net;

namespace Moe.Web.Tests;

/// <summary>
/// The experiment, run and launch pages as a signed-in browser first gets them (prerendered HTML, before the circuit):
/// the rows the user may see, the experiments they may launch in, and the sign-in redirect for the anonymous.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class PortalPagesTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static Task<string> PageAsync(HttpClient client, string path) => Pages.GetAsync(client, path, decode: true);

    async Task<(string Id, string Name)> ExperimentAsync(string project, string stem)
    {
        var id = await app.NewExperimentAsync(project, stem);
        return (id, (await app.Admin.GetJsonAsync($"/api/v1/experiments/{id}")).Str("name"));
    }

    /// <summary>A run of the experiment, cancelled at once: the pages need rows, not training.</summary>
    async Task<(string Id, string Name)> CancelledRunAsync(string experimentId, string stem)
    {
        var name = Names.Unique(stem);
        var dataset = await app.SharedDatasetAsync();
        var id = (await (await app.Admin.PostJsonAsync("/api/v1/runs", Runs.Launch(experimentId, dataset, steps: 12, name: name)))
            .ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        await (await app.Admin.PostJsonAsync($"/api/v1/runs/{id}/cancel", new { })).ExpectJsonAsync(HttpStatusCode.OK);
        return (id, name);
    }

    [Fact]
    public async Task A_member_sees_experiments_runs_and_may_launch()
    {
        var member = await app.NewUserAsync("pages-member");
        var project = await app.NewProjectAsync("pages", (member, "member"));
        var hidden = await app.NewProjectAsync("pages-hidden"); // the member has no role there
        var experiment = await ExperimentAsync(project, "pages-exp");
        var other = await ExperimentAsync(hidden, "pages-secret");
        var run = await CancelledRunAsync(experiment.Id, "pages-run");
        var secretRun = await CancelledRunAsync(other.Id, "pages-secret-run");

        var experiments = await PageAsync(member.Cookie, "/experiments");
        Assert.Contains("data-testid=\"experiments\"", experiments);
        Assert.Contains(experiment.Name, experiments);
        Assert.Contains($"href=\"/experiments/{experiment.Id}\"", experiments);
        Assert.DoesNotContain(other.Name, experiments);
        Assert.Contains("data-testid=\"experiment-new\"", experiments); // members create experiments

        var detail = await PageAsync(member.Cookie, $"/experiments/{experiment.Id}");
        Assert.Contains(experiment.Name, detail);
        Assert.Contains(run.Name, detail);
        Assert.Contains($"href=\"/runs/{run.Id}\"", detail);
        Assert.Contains("cancelled", detail);
        Assert.Contains("softmax/top_k", detail); // the run's router, read from its config
        Assert.Contains("switch 0.01 + z 0.001", detail); // tiny-cpu's balancing
        Assert.Contains($"/launch?experiment_id={experiment.Id}", detail);
        Assert.DoesNotContain(secretRun.Name, detail);

        var runs = await PageAsync(member.Cookie, "/runs");
        Assert.Contains(run.Name, runs);
        Assert.DoesNotContain(secretRun.Name, runs);
        Assert.Contains(run.Name, await PageAsync(member.Cookie, $"/runs?status=cancelled&q={Uri.EscapeDataString(run.Name)}"));
        Assert.DoesNotContain($"href=\"/runs/{run.Id}\"", await PageAsync(member.Cookie, $"/runs?status=running&q={Uri.EscapeDataString(run.Name)}"));

        var launch = await PageAsync(member.Cookie, $"/launch?experiment_id={experiment.Id}");
        Assert.Contains($"{project} / {experiment.Name}", launch); // preselected
        Assert.DoesNotContain("launch-not-launchable", launch);
        foreach (var testId in (string[])["launch-experiment", "launch-preset", "launch-name", "launch-submit", "field-model.moe.top_k",
                     "field-training.steps", "field-resources.gpus", "field-data.datasets[0].path"])
            Assert.Contains($"data-testid=\"{testId}\"", launch);
        Assert.Contains("tiny-cpu", launch);

        var again = await PageAsync(member.Cookie, $"/launch?from_run={run.Id}");
        Assert.Contains($"{run.Name} (copy)", again);
        Assert.Contains($"{project} / {experiment.Name}", again);

        // Another project's experiment or run is not offered, and says why.
        var refused = await PageAsync(member.Cookie, $"/launch?experiment_id={other.Id}");
        Assert.Contains("launch-not-launchable", refused);
        Assert.DoesNotContain($"{hidden} / ", refused);
        Assert.Contains("launch-error", await PageAsync(member.Cookie, $"/launch?from_run={secretRun.Id}"));
    }

    [Fact]
    public async Task A_viewer_sees_the_project_but_may_launch_in_none_of_its_experiments()
    {
        var viewer = await app.NewUserAsync("pages-viewer");
        var project = await app.NewProjectAsync("pages-view", (viewer, "viewer"));
        var experiment = await ExperimentAsync(project, "pages-viewed");
        var run = await CancelledRunAsync(experiment.Id, "pages-viewed-run");

        Assert.Contains(experiment.Name, await PageAsync(viewer.Cookie, "/experiments"));
        var detail = await PageAsync(viewer.Cookie, $"/experiments/{experiment.Id}");
        Assert.Contains(run.Name, detail);
        Assert.DoesNotContain("data-testid=\"experiment-launch\"", detail);
        Assert.Contains(run.Name, await PageAsync(viewer.Cookie, "/runs"));

        var launch = await PageAsync(viewer.Cookie, $"/launch?experiment_id={experiment.Id}");
        Assert.Contains("data-testid=\"launch-no-experiments\"", launch);
        Assert.Contains("data-testid=\"launch-not-launchable\"", launch);
        Assert.DoesNotContain($"{project} / ", launch); // not offered, not preselected
    }

    [Fact]
    public async Task An_unknown_experiment_is_a_message_not_an_error()
    {
        var html = await PageAsync(app.Admin, $"/experiments/{Names.Unique("nope")}");
        Assert.Contains("not found", html);
    }

    [Theory]
    [InlineData("/experiments")]
    [InlineData("/experiments/some-experiment")]
    [InlineData("/runs")]
    [InlineData("/launch?experiment_id=x")]
    public async Task The_anonymous_are_sent_to_sign_in(string path)
    {
        using var response = await app.Anonymous().GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith("/login", location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString);
    }
}
