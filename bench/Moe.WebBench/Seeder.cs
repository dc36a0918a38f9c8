using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Metrics;
using Moe.Platform.Storage.Metadata;
using Moe.PlatformBench;
using Spectre.Console;

namespace Moe.WebBench;

/// <summary>What the seeding made: the ids the workloads read, and how fast it went (setup figures for the report).</summary>
public sealed record Seeded(string Project, string ExperimentId, string MetricsRunId, int Runs, string RunStatus, int Steps, long Points,
    double LaunchesPerSecond, double PointsPerSecond, string? Note);

/// <summary>
/// Fills the app through its API with the admin's key: a project, an experiment, a tiny uploaded dataset (admission
/// pins <c>dataset:ID</c> to a ready version) and N runs on the tiny-cpu preset that never train: they require the
/// tag "bench-never", which no worker has, so the scheduler ends them at once as unschedulable (failed) once the app's
/// worker has joined; they stay queued if none has. Then one more run gets a long metric history written straight
/// into the app's database with <see cref="MetricStore.AppendAsync"/> (the samples and rollups the API reads), in
/// 10,000-point batches as the control-plane benchmark loads its series.
/// </summary>
public static class Seeder
{
    public const string Project = "bench", DatasetId = "bench-corpus", RunPrefix = "bench-run-", MetricsRun = "bench-metrics";
    public const int Experts = 8, ValEvery = 100;

    /// <summary>Scalars of every step, then the router loads of layer 0; val_loss only every <see cref="ValEvery"/> steps.</summary>
    public static readonly string[] StepNames =
        ["loss", "lr", "grad_norm", "tokens_per_s", .. Enumerable.Range(0, Experts).Select(e => $"router.0.load.{e}")];

    public static async Task<Seeded> SeedAsync(WebAppProcess app, HttpClient api, int runs, int steps)
    {
        Report.Progress("seeding: project, experiment, dataset");
        await Api.PostAsync(api, "/api/v1/projects", new { id = Project, name = "Web benchmark" }, HttpStatusCode.Created);
        var experiment = await Api.PostAsync(api, "/api/v1/experiments", new { project = Project, name = "web-bench" }, HttpStatusCode.Created);
        string experimentId = experiment["id"]!.GetValue<string>();
        await UploadDatasetAsync(api);
        // Until the worker has joined, the scheduler lets any run wait (no worker could be the one with the tag).
        bool worker = await Api.PollAsync(async () => (await Api.GetAsync(api, "/api/v1/cluster"))["workers"]!.AsArray().Count > 0,
            TimeSpan.FromSeconds(60));

        long launchStart = Stopwatch.GetTimestamp();
        await AnsiConsole.Progress().AutoClear(false).Columns(Columns()).StartAsync(async progress =>
        {
            var task = progress.AddTask($"launching {runs + 1} runs through POST /api/v1/runs", maxValue: runs + 1);
            await Parallel.ForEachAsync(Enumerable.Range(0, runs + 1), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                string name = i == runs ? MetricsRun : $"{RunPrefix}{i:D5}";
                await Api.PostAsync(api, "/api/v1/runs", Launch(experimentId, name), HttpStatusCode.Created, ct);
                task.Increment(1);
            });
        });
        double launchRate = (runs + 1) / Stopwatch.GetElapsedTime(launchStart).TotalSeconds;
        var metricsRun = await Api.GetAsync(api, $"/api/v1/runs?project={Project}&q={MetricsRun}&page_size=1");
        string metricsRunId = metricsRun["items"]![0]!["id"]!.GetValue<string>();
        // The scheduler's next pass (about a second) ends the unschedulable runs; wait until none is queued.
        bool settled = await Api.PollAsync(async () =>
            (await Api.GetAsync(api, $"/api/v1/runs?project={Project}&status=queued&page_size=1"))["total"]!.GetValue<int>() == 0,
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));
        var first = await Api.GetAsync(api, $"/api/v1/runs?project={Project}&q={RunPrefix}00000&page_size=1");
        string status = first["items"]![0]!["status"]!.GetValue<string>();
        string? note = !worker ? "no worker joined within 60 s: the runs stayed queued"
            : !settled ? $"some runs were still queued after 60 s (the first is {status})" : null;

        long points = (long)steps * StepNames.Length + steps / ValEvery;
        long loadStart = Stopwatch.GetTimestamp();
        await AnsiConsole.Progress().AutoClear(false).Columns(Columns()).StartAsync(async progress =>
        {
            var task = progress.AddTask($"writing {points:N0} metric points of {metricsRunId} with MetricStore", maxValue: points);
            int stepsPerBatch = Math.Max(1, 10_000 / StepNames.Length);
            for (long firstStep = 1; firstStep <= steps; firstStep += stepsPerBatch)
            {
                var batch = Points(firstStep, (int)Math.Min(stepsPerBatch, steps - firstStep + 1));
                await using var db = app.NewDb();
                await new MetricStore(db).AppendAsync(metricsRunId, batch);
                task.Increment(batch.Count);
            }
        });
        double pointRate = points / Stopwatch.GetElapsedTime(loadStart).TotalSeconds;
        if (app.Postgres is not null)
        {
            await using var db = app.NewDb();
            await db.Database.ExecuteSqlRawAsync("VACUUM ANALYZE"); // statistics, as autovacuum would have by now
        }
        var names = await Api.GetAsync(api, $"/api/v1/runs/{metricsRunId}/metrics");
        if (names.AsArray().Count != StepNames.Length + 1)
            throw new InvalidOperationException($"the app lists {names.AsArray().Count} metrics of {metricsRunId}, expected {StepNames.Length + 1}: {names.ToJsonString()}");
        return new Seeded(Project, experimentId, metricsRunId, runs, status, steps, points, launchRate, pointRate, note);
    }

    public static ProgressColumn[] Columns() =>
        [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn()];

    /// <summary>POST /api/v1/runs: tiny-cpu on the uploaded dataset (vocab 300, seq 32), on a worker tag nobody has.</summary>
    static object Launch(string experimentId, string name) => new
    {
        experiment_id = experimentId, preset = "tiny-cpu", name, max_retries = 0, required_tags = new[] { "bench-never" },
        overrides = new Dictionary<string, object>
        {
            ["model.vocab_size"] = 300, ["training.steps"] = 100, ["training.seq_len"] = 32, ["training.batch_size"] = 4,
            ["training.warmup_steps"] = 2, ["data.datasets[0].path"] = $"dataset:{DatasetId}",
        },
    };

    /// <summary>A few hundred short English documents (JSON lines), tokenised by the app with a 300-token BPE.</summary>
    static async Task UploadDatasetAsync(HttpClient api)
    {
        await Api.PostAsync(api, "/api/v1/datasets", new { id = DatasetId, description = "web benchmark corpus" }, HttpStatusCode.Created);
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(string.Join('\n', Documents(300)) + "\n"));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "files", "corpus.jsonl");
        form.Add(new StringContent("300"), "tokenizer_vocab");
        form.Add(new StringContent("0.1"), "validation_fraction");
        await Api.ExpectAsync(await api.PostAsync($"/api/v1/datasets/{DatasetId}/versions", form), HttpStatusCode.Accepted, "upload");
        string state = "preparing";
        bool done = await Api.PollAsync(async () =>
        {
            var dataset = await Api.GetAsync(api, $"/api/v1/datasets/{DatasetId}");
            state = dataset["versions"]![0]!["state"]!.GetValue<string>();
            return state != "preparing";
        }, TimeSpan.FromMinutes(2));
        if (!done || state != "ready") throw new InvalidOperationException($"dataset {DatasetId} version 1 is {state}");
    }

    static IEnumerable<string> Documents(int count)
    {
        string[] subjects = ["the old man", "a young woman", "the committee", "the jury", "the farmer", "the teacher", "the mayor", "the doctor"];
        string[] verbs = ["walked to", "looked at", "spoke about", "wrote to", "waited for", "returned to", "visited", "remembered"];
        string[] objects = ["the river", "the new school", "the city hall", "a long letter", "the morning train", "the garden", "the market"];
        var rng = new Random(5);
        string Pick(string[] words) => words[rng.Next(words.Length)];
        for (int i = 0; i < count; i++)
        {
            var text = string.Join(" ", Enumerable.Range(0, rng.Next(3, 7)).Select(_ => $"{Pick(subjects)} {Pick(verbs)} {Pick(objects)}."));
            yield return new JsonObject { ["text"] = char.ToUpperInvariant(text[0]) + text[1..] }.ToJsonString();
        }
    }

    /// <summary>Steps [first, first + count) of a plausible run: every <see cref="StepNames"/> each step, val_loss every 100.</summary>
    static List<MetricPoint> Points(long first, int count)
    {
        var points = new List<MetricPoint>(count * (StepNames.Length + 1));
        for (long step = first; step < first + count; step++)
        {
            double loss = 2.0 + 8.0 / Math.Sqrt(1 + step / 50.0) + 0.05 * Math.Sin(step * 0.37);
            points.Add(new(step, "loss", loss));
            points.Add(new(step, "lr", 3e-4 * Math.Min(1, step / 2000.0) * (0.55 + 0.45 * Math.Cos(Math.PI * Math.Min(1, step / 100_000.0)))));
            points.Add(new(step, "grad_norm", 0.4 + 2.0 / Math.Sqrt(1 + step / 100.0) + 0.1 * Math.Abs(Math.Sin(step * 0.11))));
            points.Add(new(step, "tokens_per_s", 12_000 + 400 * Math.Sin(step * 0.013)));
            for (int e = 0; e < Experts; e++)
                points.Add(new(step, $"router.0.load.{e}", 1.0 / Experts * (1 + 0.3 * Math.Sin(step * 0.001 + e) / Math.Sqrt(1 + step / 1000.0))));
            if (step % ValEvery == 0) points.Add(new(step, "val_loss", loss + 0.08));
        }
        return points;
    }
}
