using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Tests.Metadata;

namespace Moe.Web.Tests;

/// <summary>The app with its metadata in PostgreSQL (ConnectionStrings:Postgres) on a throwaway server.</summary>
public sealed class PostgresWebApp(PostgresFixture postgres) : WebApp
{
    string? _connectionString;

    protected override string? Postgres => _connectionString;

    public override async ValueTask InitializeAsync()
    {
        _connectionString = await postgres.CreateDatabaseAsync(TestContext.Current.CancellationToken);
        await base.InitializeAsync();
    }
}

/// <summary>
/// The persistence-sensitive flow once more on PostgreSQL: users, API keys (hashed), project roles, an experiment, a
/// dataset and a run that trains, with its history and metrics read back.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresTests(PostgresWebApp app) : IClassFixture<PostgresWebApp>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Users_keys_roles_experiments_and_runs_work_on_postgresql()
    {
        await using (var db = app.NewDb()) Assert.True(db.IsPostgres);
        using (var anonymous = app.Anonymous())
            Assert.Equal("Healthy", await (await anonymous.GetAsync("/readyz", Ct)).ExpectAsync(HttpStatusCode.OK));

        var member = await app.NewUserAsync("pg-member");
        var viewer = await app.NewUserAsync("pg-viewer");
        var outsider = await app.NewUserAsync("pg-outsider");
        await using (var db = app.NewDb())
        {
            var row = await db.ApiKeys.AsNoTracking().Include(k => k.User).SingleAsync(k => k.User!.UserName == member.Name, Ct);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(member.ApiKey))), row.SecretHash);
            Assert.DoesNotContain(member.ApiKey, row.SecretHash + row.Prefix + row.Name);
        }

        var project = await app.NewProjectAsync("pg", (member, "member"), (viewer, "viewer"));
        await (await member.Api.PutJsonAsync($"/api/v1/projects/{project}/members/{outsider.Name}", new { role = "viewer" })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("viewer", (await viewer.Api.GetJsonAsync("/api/v1/me"))["projects"]![project]!.GetValue<string>());

        var name = Names.Unique("pg experiment");
        var experiment = (await (await member.Api.PostJsonAsync("/api/v1/experiments", new { project, name })).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        await (await member.Api.PostJsonAsync("/api/v1/experiments", new { project, name })).ExpectProblemAsync(HttpStatusCode.Conflict, "name");
        await (await viewer.Api.PostJsonAsync("/api/v1/experiments", new { project, name = Names.Unique("v") })).ExpectProblemAsync(HttpStatusCode.Forbidden);

        var dataset = await WebApp.UploadDatasetAsync(member.Api, Names.Unique("pg-data"), waitReady: true);
        var runId = (await (await member.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 8))).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        await (await viewer.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 8))).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await outsider.Api.GetAsync($"/api/v1/runs/{runId}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.DoesNotContain((await outsider.Api.GetJsonAsync("/api/v1/runs")).Arr("items"), r => r.Str("id") == runId);

        var done = await Poll.RunAsync(viewer.Api, runId, TimeSpan.FromMinutes(3), "succeeded");
        Assert.Equal(8, done.Long("last_step"));
        Assert.Equal(["scheduled", "running", "succeeded"], (await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/transitions")).Arr().Select(t => t.Str("to")));
        var loss = (await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/metrics/query?names=loss&max_points=3"))[0]!;
        Assert.True(loss["downsampled"]!.GetValue<bool>());
        Assert.Equal(8, loss.Arr("points").Sum(p => p.Long("count")));
        Assert.Contains(8L, (await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/checkpoints")).Arr().Select(c => c.Long("step")));
        var page = await viewer.Api.GetJsonAsync($"/api/v1/runs?experiment_id={experiment}&status=succeeded&page_size=1");
        Assert.Equal(1, page.Long("total"));
        Assert.Equal(1, (await viewer.Api.GetJsonAsync($"/api/v1/experiments/{experiment}")).Long("runs"));
    }
}
