using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests;

/// <summary>
/// Runs end to end through the API with the real trainer on a platform dataset: admission, training to success,
/// history, metrics and their downsampled curves, checkpoints (download, promote), cancel and resume.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class RunsTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_run_trains_to_success_and_its_history_metrics_and_checkpoints_are_served()
    {
        var member = await app.NewUserAsync("run-member");
        var viewer = await app.NewUserAsync("run-viewer");
        var project = await app.NewProjectAsync("runs", (member, "member"), (viewer, "viewer"));
        var experiment = await app.NewExperimentAsync(project, "e2e");
        var dataset = await app.SharedDatasetAsync();

        // A bad config is refused with the config field named, before anything is queued.
        await (await member.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: -1)))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "config.training.steps");

        using var created = await member.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 12, name: "tiny e2e"));
        var run = await created.ExpectJsonAsync(HttpStatusCode.Created);
        var runId = run.Str("id");
        Assert.Equal($"/api/v1/runs/{runId}", created.Headers.Location?.OriginalString);
        Assert.StartsWith("tiny-e2e-", runId);
        Assert.Equal("tiny e2e", run.Str("name"));
        Assert.Equal(experiment, run.Str("experiment_id"));
        Assert.Equal(project, run.Str("project"));
        Assert.Equal(12, run.Long("total_steps"));
        // The dataset reference is pinned to the version that was ready, and its tokenizer is the default.
        Assert.Equal($"dataset:{dataset}@1", run["config"]!["data"]!["datasets"]![0]!["path"]!.GetValue<string>());
        Assert.Equal($"dataset:{dataset}@1", run["config"]!["tokenizer"]!.GetValue<string>());
        Assert.Equal(300, run["config"]!["model"]!["vocab_size"]!.GetValue<int>());
        Assert.Equal(1, run["resources"]!.Long("cpu_slots")); // the preset's resources

        var done = await Poll.RunAsync(member.Api, runId, RunTimeout, "succeeded");
        Assert.Equal(12, done.Long("last_step"));
        Assert.Equal(1, done.Long("attempt"));
        Assert.Equal("web-tests", done.Str("worker_id"));
        Assert.NotNull(done["started_at"]?.GetValue<DateTime>());
        Assert.NotNull(done["ended_at"]?.GetValue<DateTime>());
        var bestValLoss = done["best_val_loss"]!.GetValue<double>();

        var transitions = await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/transitions");
        Assert.Equal(["queued", "scheduled", "running"], transitions.Arr().Select(t => t.Str("from")));
        Assert.Equal(["scheduled", "running", "succeeded"], transitions.Arr().Select(t => t.Str("to")));
        Assert.Equal([0, 1, 2], transitions.Arr().Select(t => (int)t.Long("sequence")));

        var names = (await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/metrics")).Arr().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains("loss", names);
        Assert.Contains("val_loss", names);
        Assert.Contains("router.0.entropy", names);
        Assert.Contains("router.1.load.0", names); // per MoE layer, per expert
        Assert.Equal(names.Order(StringComparer.Ordinal), names);

        // Curves: loss (one point a step) downsampled to 3 buckets; val_loss (steps 4, 8, 12) raw.
        var curves = await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/metrics/query?names=loss,val_loss&max_points=3");
        var loss = Assert.Single(curves.Arr(), c => c.Str("name") == "loss")!;
        Assert.True(loss["downsampled"]!.GetValue<bool>());
        var buckets = loss.Arr("points");
        Assert.InRange(buckets.Count, 1, 3);
        Assert.Equal(12, buckets.Sum(b => b.Long("count")));
        Assert.Equal(12, buckets[^1].Long("step"));
        foreach (var b in buckets)
        {
            double min = b!["min"]!.GetValue<double>(), max = b["max"]!.GetValue<double>(), value = b["value"]!.GetValue<double>();
            Assert.True(min <= value && value <= max, $"bucket {b.ToJsonString()}");
            Assert.True(b.Long("first_step") <= b.Long("step"));
        }
        var raw = await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/metrics/query?names=loss");
        Assert.False(raw[0]!["downsampled"]!.GetValue<bool>());
        Assert.Equal(Enumerable.Range(1, 12).Select(s => (long)s), raw[0]!.Arr("points").Select(p => p.Long("step")));
        Assert.Equal(raw[0]!.Arr("points").Min(p => p!["value"]!.GetValue<double>()), buckets.Min(b => b!["min"]!.GetValue<double>()), 9);
        var valLoss = Assert.Single(curves.Arr(), c => c.Str("name") == "val_loss")!;
        Assert.False(valLoss["downsampled"]!.GetValue<bool>());
        var valPoints = valLoss.Arr("points");
        Assert.Equal([4L, 8L, 12L], valPoints.Select(p => p.Long("step")));
        Assert.Equal(bestValLoss, valPoints.Min(p => p!["value"]!.GetValue<double>()), 9);
        var window = await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/metrics/query?names=loss&from_step=5&to_step=7");
        Assert.Equal([5L, 6L, 7L], window[0]!.Arr("points").Select(p => p.Long("step")));
        Assert.Empty((await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/metrics/query?names=no_such_metric"))[0]!.Arr("points"));
        await (await viewer.Api.GetAsync($"/api/v1/runs/{runId}/metrics/query?names=loss&max_points=0", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "max_points");
        await (await viewer.Api.GetAsync($"/api/v1/runs/{runId}/metrics/query?names=loss&max_points=10001", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "max_points");
        await (await viewer.Api.GetAsync($"/api/v1/runs/{runId}/metrics/query", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "names");
        await (await viewer.Api.GetAsync($"/api/v1/runs/{runId}/metrics/query?names=loss&from_step=8&to_step=4", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "from_step");

        var logs = await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/logs?tail=5");
        Assert.InRange(logs.Arr().Count, 1, 5);
        var lastSequence = logs.Arr()[^1]!.Long("sequence");
        Assert.Empty((await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/logs?after_sequence={lastSequence}")).Arr());
        Assert.Equal([lastSequence], (await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/logs?after_sequence={lastSequence - 1}")).Arr().Select(l => l.Long("sequence")));
        await (await viewer.Api.GetAsync($"/api/v1/runs/{runId}/logs?tail=0", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "tail");

        // Checkpoints every 4 steps; retention keeps the last 2 (the preset's keep_last) and the best by validation loss.
        var checkpoints = (await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/checkpoints")).Arr();
        var steps = checkpoints.Select(c => c.Long("step")).ToList();
        Assert.Contains(8L, steps);
        Assert.Contains(12L, steps);
        Assert.Subset(new HashSet<long> { 4, 8, 12 }, steps.ToHashSet());
        var bestStep = valPoints.MinBy(p => p!["value"]!.GetValue<double>())!.Long("step");
        Assert.Equal(new[] { bestStep, 8L, 12L }.Distinct().Order(), steps);

        // Download: a zip of the checkpoint folder whose manifest's hashes match the files.
        using var download = await viewer.Api.GetAsync($"/api/v1/runs/{runId}/checkpoints/12/download", Ct);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/zip", download.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"{runId}-step-12.zip", download.Content.Headers.ContentDisposition?.ToString());
        await using var zipStream = new MemoryStream(await download.Content.ReadAsByteArrayAsync(Ct));
        using var zip = new ZipArchive(zipStream, ZipArchiveMode.Read);
        var entries = zip.Entries.ToDictionary(e => e.FullName);
        var folder = $"{runId}-step-12/";
        Assert.Contains(folder + "manifest.json", entries.Keys);
        Assert.Contains(folder + "model.safetensors", entries.Keys);
        JsonNode manifest;
        await using (var manifestStream = await entries[folder + "manifest.json"].OpenAsync(Ct)) manifest = (await JsonNode.ParseAsync(manifestStream, cancellationToken: Ct))!;
        Assert.Equal(12, manifest.Long("step"));
        var files = manifest.Arr("files");
        Assert.Contains(files, f => f.Str("name") == "model.safetensors");
        Assert.Equal(entries.Keys.Where(k => k != folder + "manifest.json").Order(StringComparer.Ordinal),
            files.Select(f => folder + f.Str("name")).Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            await using var content = await entries[folder + file.Str("name")].OpenAsync(Ct);
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, Ct);
            Assert.Equal(file.Long("bytes"), copy.Length);
            Assert.Equal(file.Str("sha256"), Convert.ToHexStringLower(SHA256.HashData(copy.ToArray())));
        }
        await (await viewer.Api.GetAsync($"/api/v1/runs/{runId}/checkpoints/5/download", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "step");

        // Promote: a viewer may not; a member registers version 1 with an alias.
        var model = Names.Unique("m");
        await (await viewer.Api.PostJsonAsync($"/api/v1/runs/{runId}/checkpoints/12/promote", new { model, alias = "production" }))
            .ExpectProblemAsync(HttpStatusCode.Forbidden);
        using var promoted = await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/checkpoints/12/promote", new { model, alias = "production", description = "first" });
        var version = await promoted.ExpectJsonAsync(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/models/{model}/versions/1", promoted.Headers.Location?.OriginalString);
        Assert.Equal(1, version.Long("version"));
        Assert.Equal(runId, version.Str("run_id"));
        Assert.Equal(12, version.Long("step"));
        Assert.Equal(["production"], version.Arr("aliases").Select(a => a!.GetValue<string>()));

        var registered = await viewer.Api.GetJsonAsync($"/api/v1/models/{model}");
        Assert.Equal(project, registered.Str("project"));
        var only = Assert.Single(registered.Arr("versions"))!;
        Assert.Equal(1, only.Long("version"));
        Assert.Equal(checkpoints.Single(c => c.Long("step") == 12)!.Str("manifest_sha256"), only.Str("manifest_sha256"));
        Assert.Equal(1, registered["aliases"]!["production"]!.GetValue<int>());
        Assert.Equal(1, (await viewer.Api.GetJsonAsync($"/api/v1/models/{model}/versions/production")).Long("version"));
        Assert.Contains((await viewer.Api.GetJsonAsync($"/api/v1/runs/{runId}/checkpoints")).Arr(),
            c => c.Long("step") == 12 && c.Arr("models").Any(m => m!.GetValue<string>() == $"{model}/1"));
        // A second version from step 8; the alias moves to it; a version an alias points at cannot be deleted.
        var second = await (await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/checkpoints/8/promote", new { model })).ExpectJsonAsync(HttpStatusCode.Created);
        Assert.Equal(2, second.Long("version"));
        Assert.Empty(second.Arr("aliases"));
        await (await viewer.Api.PutJsonAsync($"/api/v1/models/{model}/aliases/production", new { version = 2 })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        var moved = await (await member.Api.PutJsonAsync($"/api/v1/models/{model}/aliases/production", new { version = 2 })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, moved["aliases"]!["production"]!.GetValue<int>());
        Assert.Equal(8, (await viewer.Api.GetJsonAsync($"/api/v1/models/{model}/versions/production")).Long("step"));
        await (await member.Api.DeleteAsync($"/api/v1/models/{model}/versions/2", Ct)).ExpectProblemAsync(HttpStatusCode.Conflict);
        await (await member.Api.DeleteAsync($"/api/v1/models/{model}/aliases/production", Ct)).ExpectAsync(HttpStatusCode.NoContent);
        await (await member.Api.DeleteAsync($"/api/v1/models/{model}/versions/2", Ct)).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal([1L], (await viewer.Api.GetJsonAsync($"/api/v1/models/{model}")).Arr("versions").Select(v => v.Long("version")));
        var experimentView = await viewer.Api.GetJsonAsync($"/api/v1/experiments/{experiment}");
        Assert.Equal(1, experimentView.Long("runs"));
        Assert.Equal(0, experimentView.Long("active_runs"));
        Assert.Equal(bestValLoss, experimentView["best_val_loss"]!.GetValue<double>(), 9);

        var outsider = await app.NewUserAsync("run-outsider");
        await (await outsider.Api.GetAsync($"/api/v1/models/{model}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.DoesNotContain((await outsider.Api.GetJsonAsync("/api/v1/models")).Arr(), m => m.Str("name") == model);
        await (await member.Api.GetAsync($"/api/v1/models/{Names.Unique("m")}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "model");

        // An ended run can be neither cancelled nor resumed.
        await (await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/cancel", new { })).ExpectProblemAsync(HttpStatusCode.Conflict, "status");
        await (await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/resume", new { })).ExpectProblemAsync(HttpStatusCode.Conflict, "status");
        Assert.Equal("succeeded", (await member.Api.GetJsonAsync($"/api/v1/runs/{runId}")).Str("status"));
    }

    [Fact]
    public async Task A_cancelled_run_resumes_and_succeeds_and_its_history_shows_both()
    {
        var member = await app.NewUserAsync("resume-member");
        var project = await app.NewProjectAsync("resume", (member, "member"));
        var experiment = await app.NewExperimentAsync(project, "resume");
        var dataset = await app.SharedDatasetAsync();

        var runId = (await (await member.Api.PostJsonAsync("/api/v1/runs", Runs.Launch(experiment, dataset, steps: 16))).ExpectJsonAsync(HttpStatusCode.Created)).Str("id");
        var cancelled = await (await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/cancel", new { reason = "changed my mind" })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Equal("cancelled", cancelled.Str("status"));
        Assert.NotNull(cancelled["ended_at"]?.GetValue<DateTime>());
        var history = await member.Api.GetJsonAsync($"/api/v1/runs/{runId}/transitions");
        Assert.Equal("changed my mind", history.Arr()[^1]!.Str("reason"));
        await (await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/cancel", new { })).ExpectProblemAsync(HttpStatusCode.Conflict, "status");

        var resumed = await (await member.Api.PostJsonAsync($"/api/v1/runs/{runId}/resume", new { })).ExpectJsonAsync(HttpStatusCode.OK);
        Assert.Contains(resumed.Str("status"), new[] { "queued", "scheduled", "running" });
        Assert.Null(resumed["ended_at"]?.GetValue<DateTime>());

        var done = await Poll.RunAsync(member.Api, runId, RunTimeout, "succeeded");
        Assert.Equal(16, done.Long("last_step"));
        var transitions = (await member.Api.GetJsonAsync($"/api/v1/runs/{runId}/transitions")).Arr();
        var moves = transitions.Select(t => $"{t.Str("from")}->{t.Str("to")}").ToList();
        var cancel = moves.FindIndex(m => m.EndsWith("->cancelled", StringComparison.Ordinal));
        Assert.True(cancel >= 0, string.Join(", ", moves));
        Assert.Equal("cancelled->queued", moves[cancel + 1]);
        Assert.Equal($"resumed by {member.Name}", transitions[cancel + 1]!.Str("reason"));
        Assert.Equal(["queued->scheduled", "scheduled->running", "running->succeeded"], moves[(cancel + 2)..]);
        Assert.Equal(16, (await member.Api.GetJsonAsync($"/api/v1/runs/{runId}/metrics/query?names=loss"))[0]!.Arr("points").Count);
    }

    [Fact]
    public async Task Launch_refusals_name_the_field_and_queue_nothing()
    {
        var project = await app.NewProjectAsync("run-refusals");
        var experiment = await app.NewExperimentAsync(project, "refusals");
        var dataset = await app.SharedDatasetAsync();
        Dictionary<string, object> With(string key, object value) => new() { [key] = value };

        (object Body, HttpStatusCode Status, string Field)[] cases =
        [
            (new { experiment_id = experiment }, HttpStatusCode.BadRequest, "config"),
            (new { experiment_id = experiment, preset = "no-such-preset" }, HttpStatusCode.BadRequest, "preset"),
            (new { experiment_id = experiment, preset = "../Presets/tiny-cpu" }, HttpStatusCode.BadRequest, "preset"),
            (new { experiment_id = Names.Unique("nope"), preset = "tiny-cpu" }, HttpStatusCode.NotFound, "experiment_id"),
            (new { preset = "tiny-cpu" }, HttpStatusCode.BadRequest, "experiment_id"),
            (Runs.Launch(experiment, Names.Unique("no-such-dataset"), steps: 12), HttpStatusCode.BadRequest, "config.data.datasets[0].path"),
            (Runs.Launch(experiment, dataset, steps: 12, more: With("training.lr", -1)), HttpStatusCode.BadRequest, "config.training.lr"),
            (Runs.Launch(experiment, dataset, steps: 12, more: With("training.steps", "many")), HttpStatusCode.BadRequest, "config.training.steps"),
            (Runs.Launch(experiment, dataset, steps: 12, more: With("name", 5)), HttpStatusCode.BadRequest, "config.name"),
            (Runs.Launch(experiment, dataset, steps: 12, more: With("data.datasets[3].path", "x")), HttpStatusCode.BadRequest, "overrides.data.datasets[3].path"),
            (new { experiment_id = experiment, preset = "tiny-cpu", resources = new { gpus = -1 } }, HttpStatusCode.BadRequest, "resources"),
            (new { experiment_id = experiment, preset = "tiny-cpu", max_retries = -1 }, HttpStatusCode.BadRequest, "max_retries"),
        ];
        foreach (var (body, status, field) in cases)
            await (await app.Admin.PostJsonAsync("/api/v1/runs", body)).ExpectProblemAsync(status, field);

        Assert.Equal(0, (await app.Admin.GetJsonAsync($"/api/v1/runs?project={project}")).Long("total"));
        Assert.Equal(0, (await app.Admin.GetJsonAsync($"/api/v1/experiments/{experiment}")).Long("runs"));
        await (await app.Admin.GetAsync($"/api/v1/runs/{Names.Unique("nope")}/checkpoints", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "run_id");
        await (await app.Admin.PostJsonAsync($"/api/v1/runs/{Names.Unique("nope")}/cancel", new { })).ExpectProblemAsync(HttpStatusCode.NotFound, "run_id");
    }
}
