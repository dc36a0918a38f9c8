using System.Diagnostics;
using Moe.Platform;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Metrics;
using Moe.Platform.Storage.Metadata;

namespace Moe.PlatformBench;

/// <summary>
/// Chart queries (<see cref="MetricStore.QueryAsync"/>) on a 100k-step "loss" series: downsampled to 1000 buckets over
/// the whole run and over a 10k-step zoom window, against the raw reads of the same ranges. The run also has the other
/// 5 scalar series over the same steps and a second run has the 22 router series, so metric_samples is not trivially
/// small. Each query uses its own context (as a request does).
/// </summary>
public static class QueryBench
{
    public const int MaxPoints = 1000;

    /// <summary>One query shape; Raw is the index of the raw read of the same range (for the ratio), or -1.</summary>
    sealed record Scenario(string Name, long? From, long? To, int MaxPoints, int PerRepetition, bool ExpectDownsampled, int ExpectedPoints, int Raw);

    public static async Task RunAsync(BenchContext context, int steps, bool explain)
    {
        steps = context.Scaled(steps, 2000);
        int maxPoints = Math.Min(MaxPoints, steps / 20); // 1000 at the documented size; smaller in smoke runs
        int routerSteps = steps / 5;
        long zoomFrom = steps * 45L / 100, zoomTo = zoomFrom + steps / 10 - 1;
        // Shorter than 10 x maxPoints: below the first rollup level, MetricStore groups the raw samples itself.
        long narrowTo = zoomFrom + 5L * maxPoints - 1;
        var scenarios = new Scenario[]
        {
            new($"downsampled, whole run ({steps:N0} steps -> {maxPoints})", null, null, maxPoints, 40, true, maxPoints, 4),
            new($"downsampled, zoom {steps / 10:N0} steps -> {maxPoints}", zoomFrom, zoomTo, maxPoints, 40, true, maxPoints, 5),
            new($"downsampled, zoom {5 * maxPoints:N0} steps -> {maxPoints} (no rollup level fits)", zoomFrom, narrowTo, maxPoints, 40, true, maxPoints, 3),
            new($"raw, zoom {5 * maxPoints:N0} steps", zoomFrom, narrowTo, steps, 20, false, 5 * maxPoints, -1),
            new($"raw, whole run ({steps:N0} points)", null, null, steps, 6, false, steps, -1),
            new($"raw, zoom {steps / 10:N0} steps", zoomFrom, zoomTo, steps, 20, false, steps / 10, -1),
        };
        var results = new Dictionary<(string, Backend), (Repeated Median, double P50, double P99)>();
        var loadRates = new Dictionary<Backend, double>();
        var jsonKiB = new Dictionary<string, double>(); // what an API would send to the chart: the same on both backends
        foreach (var backend in context.Backends)
        {
            var database = await context.NewDatabaseAsync(backend, "query");
            Report.Progress($"query: {database.Label}: creating the runs");
            await using (var cluster = await BenchCluster.StartAsync(database, context.NewArtifactsDirectory(), experiments: 1))
            {
                await cluster.Client.GetRun("query-run").CreateAsync(BenchCluster.Spec(0, 0, 0, 0, 1));
                await cluster.Client.GetRun("other-run").CreateAsync(BenchCluster.Spec(0, 0, 0, 0, 1));
            }
            string[] scalars = MetricsBench.StepNames[..6], router = MetricsBench.StepNames[6..];
            long rows = (long)steps * scalars.Length + (long)routerSteps * router.Length;
            Report.Progress($"query: {database.Label}: loading {rows:N0} points");
            long loadStart = Stopwatch.GetTimestamp();
            await LoadAsync(database, "query-run", scalars, steps);
            await LoadAsync(database, "other-run", router, routerSteps);
            loadRates[backend] = rows / Stopwatch.GetElapsedTime(loadStart).TotalSeconds;
            if (backend == Backend.Postgres)
            {
                await using var db = database.NewContext();
                await db.Database.ExecuteSqlRawAsync("VACUUM ANALYZE"); // statistics, as autovacuum would have by now
            }

            async Task<double> QueryMsAsync(Scenario s)
            {
                long start = Stopwatch.GetTimestamp();
                await using var db = database.NewContext();
                var curve = await new MetricStore(db).QueryAsync("query-run", "loss", s.From, s.To, s.MaxPoints);
                double ms = Stats.Ms(start);
                jsonKiB.TryAdd(s.Name, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(curve).Length / 1024.0);
                if (curve.Downsampled != s.ExpectDownsampled || curve.Buckets.Count > s.ExpectedPoints
                    || curve.Buckets.Count < s.ExpectedPoints * 9 / 10)
                    throw new InvalidOperationException($"{s.Name}: got {curve.Buckets.Count} points (downsampled: {curve.Downsampled})");
                return ms;
            }

            Report.Progress($"query: {database.Label}: warm-up");
            foreach (var s in scenarios) for (int i = 0; i < Math.Max(3, s.PerRepetition / 4); i++) await QueryMsAsync(s);
            var all = scenarios.ToDictionary(s => s.Name, _ => new List<double>());
            var medians = scenarios.ToDictionary(s => s.Name, _ => new List<double>());
            for (int rep = 1; rep <= context.Repetitions; rep++)
            {
                foreach (var s in scenarios) // interleaved, so a slow moment of the VM hits every scenario alike
                {
                    var times = new List<double>();
                    for (int i = 0; i < s.PerRepetition; i++) times.Add(await QueryMsAsync(s));
                    all[s.Name].AddRange(times);
                    medians[s.Name].Add(Stats.Median(times));
                }
                Report.Progress($"query: {database.Label}: repetition {rep}/{context.Repetitions}: " +
                    string.Join(", ", scenarios.Select(s => $"{Stats.F(medians[s.Name][^1], 2)} ms")));
            }
            if (explain) await QueryExplain.PrintAsync(database, "query-run", zoomFrom, narrowTo, maxPoints);
            foreach (var s in scenarios)
                results[(s.Name, backend)] = (new Repeated(medians[s.Name]), Stats.Percentile(all[s.Name], 50), Stats.Percentile(all[s.Name], 99));
        }

        var table = new ResultTable($"Metric queries on a {steps:N0}-step series (ms per query)",
            ["query", "JSON KiB", .. context.Backends.SelectMany(b => new[]
                { $"{BenchContext.Label(b)} p50", $"{BenchContext.Label(b)} p99", $"{BenchContext.Label(b)} raw / this" })]);
        foreach (var s in scenarios)
        {
            table.Row([s.Name, Stats.F(jsonKiB[s.Name]), .. context.Backends.SelectMany(b =>
            {
                var r = results[(s.Name, b)];
                return new[] { $"{Stats.F(r.P50, 2)} ±{r.Median.SpreadPercent:0}%", Stats.F(r.P99, 2),
                    s.Raw >= 0 ? BenchContext.Ratio(results[(scenarios[s.Raw].Name, b)].P50, r.P50) : "-" };
            })]);
        }
        table.Note($"p50/p99 over all {context.Repetitions} repetitions pooled ({string.Join("/", scenarios.Select(s => s.PerRepetition))} queries each); " +
                   "± is half the range of the repetitions' medians. raw / this: p50 of the raw read of the same range over this p50. " +
                   "JSON KiB: the MetricCurve serialised with System.Text.Json (what a chart API would send), not part of the timing.");
        if (context.Backends.Count == 2)
            table.Note("PostgreSQL / SQLite (p50): " + string.Join(", ", scenarios.Select(s =>
                $"{s.Name} {BenchContext.Ratio(results[(s.Name, Backend.Postgres)].P50, results[(s.Name, Backend.Sqlite)].P50)}")));
        table.Note("Setup: bulk load through MetricStore.AppendAsync in 10,000-point batches: " + string.Join(", ",
            loadRates.Select(l => $"{BenchContext.Label(l.Key)} {l.Value:N0} points/s")) +
            $"; metric_samples holds {(long)steps * 6 + (long)routerSteps * 22:N0} rows.");
        context.Report.Add(table);
    }

    static async Task LoadAsync(BenchDatabase database, string runId, string[] names, int steps)
    {
        int stepsPerBatch = Math.Max(1, 10_000 / names.Length);
        for (long first = 0; first < steps; first += stepsPerBatch)
        {
            await using var db = database.NewContext();
            await new MetricStore(db).AppendAsync(runId, MetricsBench.Steps(first, (int)Math.Min(stepsPerBatch, steps - first), names));
        }
    }
}
