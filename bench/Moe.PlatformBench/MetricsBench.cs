using System.Diagnostics;
using Moe.Platform;
using Moe.Platform.Metrics;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Metadata;

namespace Moe.PlatformBench;

/// <summary>
/// Metrics ingestion through the Run grain (<see cref="IRunGrain.AppendMetricsAsync"/>: upsert into metric_samples,
/// then the run's state and row move their last step), with the batches a worker sends: one step record is 6 scalars
/// plus, per MoE layer, 3 router statistics and one load per expert (2 layers x 8 experts: 28 points), and the
/// worker's MetricBatcher (maxPoints 2000) flushes once 2000 are pending, i.e. every 72 steps (2016 points).
/// </summary>
public static class MetricsBench
{
    public const int Layers = 2, Experts = 8, BatchSteps = 72;

    public static readonly string[] StepNames =
    [
        "loss", "lm_loss", "aux_loss", "lr", "grad_norm", "tokens_per_s",
        .. Enumerable.Range(0, Layers).SelectMany(l => (string[])
        [
            $"router.{l}.max_over_mean", $"router.{l}.drop_fraction", $"router.{l}.entropy",
            .. Enumerable.Range(0, Experts).Select(e => $"router.{l}.load.{e}"),
        ]),
    ];

    public static int BatchPoints => BatchSteps * StepNames.Length;

    /// <summary>The points of steps [firstStep, firstStep + steps), step by step as the worker sends them.</summary>
    public static List<MetricPoint> Steps(long firstStep, int steps, IReadOnlyList<string> names)
    {
        var points = new List<MetricPoint>(steps * names.Count);
        for (long step = firstStep; step < firstStep + steps; step++)
            for (int n = 0; n < names.Count; n++)
                points.Add(new MetricPoint(step, names[n], Value(step, n)));
        return points;
    }

    /// <summary>A plausible curve: a decaying loss with noise (deterministic), other names offset.</summary>
    public static double Value(long step, int nameIndex) =>
        2.0 + 8.0 / Math.Sqrt(1 + step / 50.0) + 0.05 * Math.Sin(step * 0.37 + nameIndex) + nameIndex * 0.01;

    sealed record Result(Repeated Throughput, double P50, double P99);

    public static async Task RunAsync(BenchContext context)
    {
        int streams = 8;
        int singleBatches = context.Scaled(25, 3), parallelBatches = context.Scaled(8, 2);
        var results = new Dictionary<(string, Backend), Result>();
        string single = "1 run (grain)", direct = "1 run, MetricStore direct (no grain)", parallel = $"{streams} runs at once (grain)";
        foreach (var backend in context.Backends)
        {
            Report.Progress($"metrics: {BenchContext.Label(backend)}: starting a silo");
            var database = await context.NewDatabaseAsync(backend, "metrics");
            await using var cluster = await BenchCluster.StartAsync(database, context.NewArtifactsDirectory(), experiments: 1);
            var runs = new List<IRunGrain>();
            for (int i = 0; i <= streams; i++)
            {
                var run = cluster.Client.GetRun($"ingest-{i}");
                await run.CreateAsync(BenchCluster.Spec(0, 0, 0, 0, 1));
                runs.Add(run);
            }
            var nextStep = new long[runs.Count + 1];
            string directRun = $"ingest-{streams}"; // created through the grain, but its points go straight to the store

            // One stream: the worker awaits each flush before the next (MetricBatcher flushes one at a time).
            async Task<List<double>> StreamAsync(int index, int batches, Func<List<MetricPoint>, Task> send)
            {
                var latencies = new List<double>(batches);
                for (int b = 0; b < batches; b++)
                {
                    var batch = Steps(nextStep[index], BatchSteps, StepNames);
                    nextStep[index] += BatchSteps;
                    latencies.Add(await Stats.TimeMsAsync(() => send(batch)));
                }
                return latencies;
            }
            Func<List<MetricPoint>, Task> ViaGrain(int index) => batch => runs[index].AppendMetricsAsync(batch);
            Func<List<MetricPoint>, Task> Direct() => async batch =>
            {
                await using var db = database.NewContext();
                await new MetricStore(db).AppendAsync(directRun, batch);
            };

            async Task<(double PointsPerSecond, List<double> Latencies)> MeasureAsync(int streamCount, int batches, bool viaGrain)
            {
                long start = Stopwatch.GetTimestamp();
                var all = await Task.WhenAll(Enumerable.Range(0, streamCount).Select(s =>
                    viaGrain ? StreamAsync(s, batches, ViaGrain(s)) : StreamAsync(runs.Count, batches, Direct())));
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                return (streamCount * batches * BatchPoints / seconds, [.. all.SelectMany(l => l)]);
            }

            Report.Progress($"metrics: {database.Label}: warm-up");
            await MeasureAsync(1, 3, viaGrain: true);
            await MeasureAsync(1, 3, viaGrain: false);
            await MeasureAsync(streams, 2, viaGrain: true);

            var scenarios = new (string Name, int Streams, int Batches, bool Grain)[]
            {
                (single, 1, singleBatches, true), (direct, 1, singleBatches, false), (parallel, streams, parallelBatches, true),
            };
            var rates = scenarios.ToDictionary(s => s.Name, _ => new List<double>());
            var latencies = scenarios.ToDictionary(s => s.Name, _ => new List<double>());
            for (int rep = 1; rep <= context.Repetitions; rep++)
            {
                foreach (var s in scenarios) // interleaved, so a slow moment of the VM hits every scenario alike
                {
                    var (rate, batchMs) = await MeasureAsync(s.Streams, s.Batches, s.Grain);
                    rates[s.Name].Add(rate);
                    latencies[s.Name].AddRange(batchMs);
                }
                Report.Progress($"metrics: {database.Label}: repetition {rep}/{context.Repetitions}: " +
                    string.Join(", ", scenarios.Select(s => $"{s.Name} {rates[s.Name][^1]:N0} points/s")));
            }
            foreach (var s in scenarios)
                results[(s.Name, backend)] = new Result(new Repeated(rates[s.Name]),
                    Stats.Percentile(latencies[s.Name], 50), Stats.Percentile(latencies[s.Name], 99));
            var last = await runs[0].GetAsync();
            if (last.LastStep != nextStep[0] - 1) throw new InvalidOperationException($"run 0 reports step {last.LastStep}, sent up to {nextStep[0] - 1}");
        }

        string[] names = [single, direct, parallel];
        context.Report.Add(context.SideBySide(
            $"Metrics ingestion: points/s ({BatchPoints}-point batches = {BatchSteps} steps x {StepNames.Length} metrics)",
            "scenario", names, (n, b) => results.GetValueOrDefault((n, b))?.Throughput, decimals: 0)
            .Note($"Median of {context.Repetitions} repetitions (±: half the range). 1 run: {singleBatches} batches " +
                  $"({singleBatches * BatchPoints:N0} points) per repetition; {streams} runs: {parallelBatches} batches each, all runs at once.")
            .Note("Grain/direct ratio: " + string.Join(", ", context.Backends.Select(b =>
                $"{BenchContext.Label(b)} {BenchContext.Ratio(results[(single, b)].Throughput.Median, results[(direct, b)].Throughput.Median)}"))));
        var latency = new ResultTable("Metrics ingestion: latency of one batch (ms, all repetitions pooled)",
            ["scenario", .. context.Backends.SelectMany(b => new[] { $"{BenchContext.Label(b)} p50", $"{BenchContext.Label(b)} p99" })]);
        foreach (string n in names)
            latency.Row([n, .. context.Backends.SelectMany(b => new[] { Stats.F(results[(n, b)].P50), Stats.F(results[(n, b)].P99) })]);
        context.Report.Add(latency);
    }
}
