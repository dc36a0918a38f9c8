using System.Buffers;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Moe.PlatformBench;
using Spectre.Console;

namespace Moe.WebBench;

/// <summary>One API request shape measured under load; <paramref name="Check"/> validates one response before the timing.</summary>
public sealed record Workload(string Name, string Url, Func<JsonNode, string?> Check);

/// <summary>Every latency of one workload at one concurrency (the timed window only), and what it cost the server.</summary>
public sealed record LoadResult(Workload Workload, int Concurrency, double Seconds, double[] LatenciesMs, int Errors, string? FirstError,
    double ResponseKiB, double ServerCpuSeconds)
{
    public int Requests => LatenciesMs.Length;
    public double Throughput => Requests / Seconds;
    public double P(double p) => Stats.Percentile(LatenciesMs, p);
    public double Max => LatenciesMs.Length == 0 ? double.NaN : LatenciesMs.Max();
    /// <summary>Server CPU (all cores) per completed request, in ms.</summary>
    public double CpuMsPerRequest => Requests == 0 ? double.NaN : ServerCpuSeconds * 1000 / Requests;
}

/// <summary>
/// Closed-loop load: C client loops share one HttpClient (SocketsHttpHandler, at least C connections, keep-alive), each
/// sending its next request only after reading the whole response of the previous one. A warm-up at the same C, then
/// a fixed window; a request counts when it started inside the window, and the window closes when the last such
/// request has returned (throughput = requests / that time). Latency is time to the response's last byte, measured
/// in this process on the same machine as the server.
/// </summary>
public static class LoadBench
{
    /// <summary>The workloads by key: list, filtered, metrics, zoom (the default set) and narrow (on request).</summary>
    public static readonly string[] Keys = ["list", "filtered", "metrics", "zoom", "narrow"];
    public static readonly string[] DefaultKeys = ["list", "filtered", "metrics", "zoom"];

    public static List<Workload> Workloads(Seeded seeded, string filterStatus, IReadOnlyCollection<string> keys)
    {
        const string Curves = "loss,val_loss,lr,grad_norm,tokens_per_s";
        const int MaxPoints = 500;
        long zoomFrom = seeded.Steps * 45L / 100 + 1, zoomTo = zoomFrom + seeded.Steps / 10 - 1;
        long narrowTo = zoomFrom + 5L * MaxPoints - 1; // 5 steps per bucket: below the first rollup level (10 per row)
        string run = seeded.MetricsRunId, query = $"/api/v1/runs/{run}/metrics/query?names={Curves}";
        string filter = $"{Seeder.RunPrefix}000"; // bench-run-000xx: the first 100 runs (all of them in smoke runs of fewer)
        int filtered = Math.Min(seeded.Runs, 100);
        var all = new Dictionary<string, Workload>
        {
            ["list"] = new("runs: list, page of 50", "/api/v1/runs?page_size=50",
                json => Expect(json["items"]!.AsArray().Count == Math.Min(50, seeded.Runs + 1) && json["total"]!.GetValue<int>() == seeded.Runs + 1,
                    $"50 of {seeded.Runs + 1} runs", json)),
            ["filtered"] = new("runs: filtered (status, q), page of 50", $"/api/v1/runs?status={filterStatus}&q={filter}&page_size=50",
                json => Expect(json["total"]!.GetValue<int>() == filtered, $"{filtered} runs matching", json)),
            ["metrics"] = new($"metrics: whole run ({seeded.Steps:N0} steps), 5 curves -> {MaxPoints}", $"{query}&max_points={MaxPoints}",
                json => CheckCurves(json, MaxPoints, seeded.Steps)),
            ["zoom"] = new($"metrics: zoom {seeded.Steps / 10:N0} steps, 5 curves -> {MaxPoints}",
                $"{query}&from_step={zoomFrom}&to_step={zoomTo}&max_points={MaxPoints}", json => CheckCurves(json, MaxPoints, zoomTo - zoomFrom + 1)),
            ["narrow"] = new($"metrics: zoom {5 * MaxPoints:N0} steps, 5 curves -> {MaxPoints} (no rollup level fits)",
                $"{query}&from_step={zoomFrom}&to_step={narrowTo}&max_points={MaxPoints}", json => CheckCurves(json, MaxPoints, narrowTo - zoomFrom + 1)),
        };
        return [.. Keys.Where(keys.Contains).Select(k => all[k])];
    }

    static string? CheckCurves(JsonNode json, int maxPoints, long steps)
    {
        long expected = Math.Min(maxPoints, steps);
        var curves = json.AsArray();
        if (curves.Count != 5) return $"expected 5 curves, got {curves.Count}";
        foreach (var curve in curves)
        {
            int points = curve!["points"]!.AsArray().Count;
            string name = curve["name"]!.GetValue<string>();
            // val_loss (every 100 steps) may have fewer points than max_points; the others fill about every bucket.
            if (points == 0 || points > maxPoints || (name != "val_loss" && points < expected * 9 / 10))
                return $"{name}: {points} points (max_points {maxPoints})";
        }
        return null;
    }

    static string? Expect(bool condition, string what, JsonNode json) =>
        condition ? null : $"expected {what}, got {json.ToJsonString()[..Math.Min(300, json.ToJsonString().Length)]}";

    public static async Task<List<LoadResult>> RunAsync(WebAppProcess app, string apiKey, IReadOnlyList<Workload> workloads,
        IReadOnlyList<int> concurrencies, TimeSpan warmup, TimeSpan duration)
    {
        using var client = Api.Client(app.BaseAddress, connections: Math.Max(1, concurrencies.Max()), bearer: apiKey);
        var sizes = new Dictionary<Workload, double>();
        foreach (var workload in workloads)
        {
            using var response = await client.GetAsync(workload.Url);
            var body = await response.Content.ReadAsByteArrayAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{workload.Name}: GET {workload.Url}: {(int)response.StatusCode}");
            if (workload.Check(JsonNode.Parse(body)!) is { } problem) throw new InvalidOperationException($"{workload.Name}: GET {workload.Url}: {problem}");
            sizes[workload] = body.Length / 1024.0;
        }
        var results = new List<LoadResult>();
        double total = workloads.Count * concurrencies.Count * (warmup + duration).TotalSeconds;
        await AnsiConsole.Progress().AutoClear(false).Columns(Seeder.Columns()).StartAsync(async progress =>
        {
            var bar = progress.AddTask($"API load: {workloads.Count} workloads x concurrency {string.Join(",", concurrencies)}", maxValue: total);
            foreach (var workload in workloads)
                foreach (int c in concurrencies)
                {
                    bar.Description = $"API load: {Markup.Escape(workload.Name)}, {c} client(s)";
                    await LoopsAsync(client, workload.Url, c, Stopwatch.GetTimestamp() + Ticks(warmup), record: false);
                    bar.Increment(warmup.TotalSeconds);
                    var cpuBefore = app.CpuTime;
                    long start = Stopwatch.GetTimestamp();
                    var (latencies, errors, firstError) = await LoopsAsync(client, workload.Url, c, start + Ticks(duration), record: true);
                    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    var cpu = (app.CpuTime - cpuBefore).TotalSeconds;
                    bar.Increment(duration.TotalSeconds);
                    results.Add(new LoadResult(workload, c, seconds, latencies, errors, firstError, sizes[workload], cpu));
                }
        });
        return results;
    }

    static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    static async Task<(double[] Latencies, int Errors, string? FirstError)> LoopsAsync(HttpClient client, string url, int concurrency, long end, bool record)
    {
        var perLoop = new List<double>[concurrency];
        int errors = 0;
        string? firstError = null;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var latencies = perLoop[i] = new List<double>(4096);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                while (Stopwatch.GetTimestamp() < end)
                {
                    long start = Stopwatch.GetTimestamp();
                    string? error = null;
                    try
                    {
                        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                        await using var stream = await response.Content.ReadAsStreamAsync();
                        while (await stream.ReadAsync(buffer) > 0) { }
                        if (!response.IsSuccessStatusCode) error = $"{(int)response.StatusCode} {response.ReasonPhrase}";
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        error = e.GetType().Name + ": " + e.Message;
                    }
                    double ms = Stats.Ms(start);
                    if (error is not null)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, error, null);
                    }
                    else if (record) latencies.Add(ms);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        })));
        return ([.. perLoop.SelectMany(l => l)], record ? errors : 0, record ? firstError : null);
    }

    /// <summary>One table per workload: a row per concurrency (and backend), p50..max in ms, req/s and its scaling.</summary>
    public static void AddTables(Report report, IReadOnlyList<(string Backend, List<LoadResult> Results)> runs, bool labelBackend)
    {
        foreach (var workload in runs[0].Results.Select(r => r.Workload.Name).Distinct())
        {
            var first = runs[0].Results.First(r => r.Workload.Name == workload);
            var table = new ResultTable($"API: {workload}",
                "clients", "requests", "req/s", "x 1 client", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "server CPU ms/req");
            foreach (var (backend, results) in runs)
            {
                var rows = results.Where(r => r.Workload.Name == workload).ToList();
                var single = rows.FirstOrDefault(r => r.Concurrency == 1);
                foreach (var r in rows)
                    table.Row(labelBackend ? $"{r.Concurrency}, {backend}" : r.Concurrency.ToString(), r.Requests.ToString("N0"), Stats.F(r.Throughput),
                        single is null || single.Throughput == 0 ? "-" : BenchRatio(r.Throughput, single.Throughput),
                        Stats.F(r.P(50), 2), Stats.F(r.P(90), 2), Stats.F(r.P(99), 2), Stats.F(r.Max, 2),
                        r.Errors == 0 ? "0" : $"{r.Errors} ({r.FirstError})", Stats.F(r.CpuMsPerRequest, 2));
            }
            table.Note($"`GET {first.Workload.Url}`; response {Stats.F(first.ResponseKiB)} KiB of JSON.");
            if (runs.Count == 2)
                table.Note($"{runs[1].Backend} / {runs[0].Backend}: " + string.Join("; ", runs[0].Results.Where(r => r.Workload.Name == workload).Select(a =>
                {
                    var b = runs[1].Results.First(r => r.Workload.Name == workload && r.Concurrency == a.Concurrency);
                    return $"{a.Concurrency} client(s): p50 {BenchRatio(b.P(50), a.P(50))}, req/s {BenchRatio(b.Throughput, a.Throughput)}";
                })));
            report.Add(table);
        }
    }

    public static string BenchRatio(double a, double b) =>
        b == 0 || double.IsNaN(a / b) ? "-" : (a / b).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + "x";
}
