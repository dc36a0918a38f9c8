using System.Net;
using System.Text.RegularExpressions;

namespace Moe.Web.Tests;

/// <summary>
/// The portal's datasets, models, account and compare pages as a signed-in browser first gets them (prerendered HTML):
/// the rows each user may see and no others, and the actions offered only to those who may take them.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class PortalDataPagesTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    static Task<string> PageAsync(HttpClient client, string path) => Pages.GetAsync(client, path);

    static string TestId(string id) => Pages.TestId(id);

    static string Row(string html, string testId) => Pages.Row(html, testId);

    [Fact]
    public async Task Datasets_are_listed_for_everyone_and_only_members_are_offered_uploads()
    {
        var member = await app.NewUserAsync("pd-member");
        var viewer = await app.NewUserAsync("pd-viewer");
        await app.NewProjectAsync("pd-data", (member, "member"), (viewer, "viewer"));
        var id = await WebApp.UploadDatasetAsync(member.Api, Names.Unique("pd-corpus"), waitReady: true);
        var tokens = (await member.Api.GetJsonAsync($"/api/v1/datasets/{id}/versions/1")).Long("train_tokens");

        var html = await PageAsync(member.Cookie, "/datasets");
        Assert.Contains(TestId("datasets-table"), html);
        var row = Row(html, $"dataset-row-{id}");
        Assert.Contains($"href=\"/datasets/{id}\"", row);
        Assert.Contains("tiny corpus", row);
        Assert.Contains(">ready<", row);
        Assert.Contains(TestId("dataset-create"), html);

        // Datasets are platform-wide: a viewer sees the same row, but nothing to create or upload with.
        html = await PageAsync(viewer.Cookie, "/datasets");
        Assert.Contains(TestId($"dataset-row-{id}"), html);
        Assert.DoesNotContain(TestId("dataset-create"), html);
        Assert.DoesNotContain(TestId("dataset-builtin"), html);

        var detail = await PageAsync(member.Cookie, $"/datasets/{id}");
        var version = Row(detail, "dataset-version-1");
        Assert.Contains(">ready<", version);
        Assert.Contains("corpus.jsonl", version);
        Assert.True(tokens > 0);
        Assert.Contains(TestId("dataset-upload"), detail);
        Assert.DoesNotContain(TestId("dataset-upload"), await PageAsync(viewer.Cookie, $"/datasets/{id}"));
        Assert.Contains(TestId("load-error"), await PageAsync(member.Cookie, $"/datasets/{Names.Unique("missing")}"));
    }

    [Fact]
    public async Task The_account_page_lists_the_users_keys_and_only_admins_see_users()
    {
        var user = await app.NewUserAsync("pd-keys");
        var keys = (await user.Api.GetJsonAsync("/api/v1/me/api-keys")).Arr();
        var key = Assert.Single(keys)!;

        var html = await PageAsync(user.Cookie, "/account");
        var row = Row(html, $"api-key-{key.Str("id")}");
        Assert.Contains(key.Str("prefix"), row);
        Assert.Contains(">active<", row);
        Assert.DoesNotContain(user.ApiKey, html); // the secret is shown once, when created, never again
        Assert.DoesNotContain(TestId("users-panel"), html);
        Assert.DoesNotContain(TestId($"user-row-{user.Name}"), html);

        html = await PageAsync(app.Admin, "/account");
        Assert.Contains(TestId("users-panel"), html);
        Assert.Contains(">enabled<", Row(html, $"user-row-{user.Name}"));
        Assert.Contains(TestId($"user-toggle-{user.Name}"), html);
        Assert.DoesNotContain(TestId("user-toggle-admin"), html); // an admin cannot disable themselves

        // Disabling (the account page's command, also PATCH /users/{name}) stops the user's key; enabling restores it.
        var disabled = await (await app.Admin.PatchJsonAsync($"/api/v1/users/{user.Name}", new { disabled = true })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.True(disabled["disabled"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.Api.GetAsync("/api/v1/me", Ct)).StatusCode);
        Assert.Contains(">disabled<", Row(await PageAsync(app.Admin, "/account"), $"user-row-{user.Name}"));
        await (await app.Admin.PatchJsonAsync($"/api/v1/users/{user.Name}", new { disabled = false })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(user.Name, (await user.Api.GetJsonAsync("/api/v1/me")).Str("user_name"));

        await (await app.Admin.PatchJsonAsync("/api/v1/users/admin", new { disabled = true })).ExpectProblemAsync(HttpStatusCode.Conflict, "disabled");
        await (await app.Admin.PatchJsonAsync($"/api/v1/users/{Names.Unique("nobody")}", new { disabled = true })).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await user.Api.PatchJsonAsync($"/api/v1/users/{user.Name}", new { disabled = true })).ExpectProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Compare_and_models_show_the_runs_and_models_of_the_users_projects_only()
    {
        var member = await app.NewUserAsync("pd-runs");
        var outsider = await app.NewUserAsync("pd-outsider");
        var project = await app.NewProjectAsync("pd-compare", (member, "member"));
        await app.NewProjectAsync("pd-other", (outsider, "member"));
        var experiment = await app.NewExperimentAsync(project, "routing");
        var dataset = await app.SharedDatasetAsync();

        // Two runs that differ in routing and balancing: top-2 with Switch 0.01 (the preset), top-1 with Switch 0.05.
        var top2 = (await (await member.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 8, name: "top2")))
            .ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        var top1 = (await (await member.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 8, name: "top1",
            more: new() { ["model.moe.top_k"] = 1, ["model.moe.balance.switch_weight"] = 0.05 }))).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        var doneTop2 = await Poll.RunAsync(member.Api, top2, RunTimeout, "succeeded");
        await Poll.RunAsync(member.Api, top1, RunTimeout, "succeeded");

        var html = await PageAsync(member.Cookie, $"/compare?runs={top2},{top1}");
        Assert.Contains(TestId("compare-table"), html);
        Assert.Contains(TestId("chart-compare-loss"), html);
        var row2 = Row(html, $"compare-row-{top2}");
        var row1 = Row(html, $"compare-row-{top1}");
        Assert.Contains("data-col=\"top_k\">2</td>", row2);
        Assert.Contains("data-col=\"top_k\">1</td>", row1);
        Assert.Contains("switch 0.01", row2);
        Assert.Contains("switch 0.05", row1);
        Assert.Contains($">{doneTop2["best_val_loss"]!.GetValue<double>().ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)}</td>", row2);
        Assert.Contains("data-col=\"steps\">8</td>", row2);
        Assert.DoesNotContain(TestId("compare-problem"), html);

        // Another project's member gets neither row, only the reason.
        html = await PageAsync(outsider.Cookie, $"/compare?runs={top2},{top1}");
        Assert.DoesNotContain(TestId($"compare-row-{top2}"), html);
        Assert.DoesNotContain(TestId($"compare-row-{top1}"), html);
        Assert.Contains(TestId("compare-problem"), html);
        Assert.Contains(TestId("compare-picker"), await PageAsync(member.Cookie, "/compare"));

        // A model promoted from the first run: listed for the member with its alias, absent for the outsider.
        var model = Names.Unique("pd-model");
        await (await member.Api.PostJsonAsync($"/api/v1/runs/{top2}/checkpoints/8/promote", new { model, alias = "production", description = "compare winner" }))
            .ExpectAsync(HttpStatusCode.Created);
        html = await PageAsync(member.Cookie, "/models");
        Assert.Contains(TestId("models-table"), html);
        var modelRow = Row(html, $"model-row-{model}");
        Assert.Contains($">{project}</td>", modelRow);
        Assert.Contains("production", modelRow);
        Assert.DoesNotContain(TestId($"model-row-{model}"), await PageAsync(outsider.Cookie, "/models"));

        var detail = await PageAsync(member.Cookie, $"/models/{model}");
        var version = Row(detail, "model-version-1");
        Assert.Contains($"href=\"/runs/{top2}\"", version);
        Assert.Contains("compare winner", version);
        Assert.Contains(TestId("model-delete-1"), version); // a member may delete (once no alias points at it)
        Assert.Contains(TestId("model-alias-production"), detail);
        Assert.Contains(TestId("load-error"), await PageAsync(outsider.Cookie, $"/models/{model}"));
        Assert.DoesNotContain("compare winner", await PageAsync(outsider.Cookie, $"/models/{model}"));
    }
}
