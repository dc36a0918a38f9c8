using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests;

/// <summary>
/// A tiny run trained once per app for the evaluation and routing-analysis tests (8 steps on the shared dataset,
/// checkpoints at steps 4 and 8), in a project of its own with a member and a viewer.
/// </summary>
public sealed record EvaluationRun(TestUser Member, TestUser Viewer, string Project, string RunId, string Dataset)
{
    // A failure test deletes the older checkpoint's files: other tests use the newest.
    public const long NewestStep = 8, OlderStep = 4;

    static readonly ConditionalWeakTable<WebApp, Lazy<Task<EvaluationRun>>> Trained = new();

    public static Task<EvaluationRun> ForAsync(WebApp app) =>
        Trained.GetValue(app, a => new Lazy<Task<EvaluationRun>>(() => TrainAsync(a))).Value;

    static async Task<EvaluationRun> TrainAsync(WebApp app)
    {
        var member = await app.NewUserAsync("eval-member");
        var viewer = await app.NewUserAsync("eval-viewer");
        var project = await app.NewProjectAsync("evals", (member, "member"), (viewer, "viewer"));
        var experiment = await app.NewExperimentAsync(project, "evals");
        var dataset = await app.SharedDatasetAsync();
        var run = await (await member.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: (int)NewestStep, every: (int)OlderStep)))
            .ExpectJsonAsync(HttpStatusCode.Created);
        var runId = run.Str("id");
        await Poll.RunAsync(member.Api, runId, TimeSpan.FromMinutes(3), "succeeded");
        var steps = (await member.Api.GetJsonAsync($"/api/v1/runs/{runId}/checkpoints")).Arr().Select(c => c.Long("step"));
        Assert.Equal([OlderStep, NewestStep], steps);
        return new EvaluationRun(member, viewer, project, runId, dataset);
    }

    /// <summary>Polls until the resource at <paramref name="url"/> has succeeded (fails with its error if it failed); returns it.</summary>
    public static Task<JsonNode> SucceededAsync(HttpClient client, string url) => Poll.UntilAsync(async () =>
    {
        var job = await client.GetJsonAsync(url);
        return job.Str("status") switch
        {
            "succeeded" => job,
            "failed" => throw new InvalidOperationException($"{url} failed after {job.Long("attempts")} attempt(s): {job["error"]}"),
            _ => null,
        };
    }, TimeSpan.FromMinutes(2), $"{url} did not finish");
}
