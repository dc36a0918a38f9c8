using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Moe.Platform.Testing;
using Moe.PlatformBench;
using Moe.WebBench;
using Spectre.Console;

const string Usage = """
    Moe.WebBench: REST API latency under concurrent clients and portal render time, against the real moe-web started
    as a child process (docs/benchmarks.md, "Web API and portal").

    Seeds through the API (project, experiment, dataset, N runs that never train) and writes one run's metric history
    straight into the app's database; then, for each workload and each concurrency, C client loops send requests
    back to back for a fixed time after a warm-up; then times the portal pages.

    Options:
      --runs N               runs to list (default 500)
      --steps N              steps of the long run's metric history (default 100000)
      --concurrency C,...    client loops at once (default 1,8,32)
      --workloads W,...      list, filtered, metrics, zoom (the default: all four), narrow (a 2,500-step zoom below
                             the first rollup level, where MetricStore groups the raw samples; not by default)
      --duration T           timed window per workload and concurrency (default 10s; 500ms, 10s, 1m)
      --warmup T             warm-up before each window, same concurrency (default 2s)
      --page-reps N          server-side renders of each portal page (default 30)
      --browser              also time the run page in Debian's Chromium (Playwright; MOE_BROWSER for another)
      --browser-reps N       warm visits in the browser (default 10)
      --backends B,...       sqlite, postgres or both in one run, side by side (default sqlite)
      --postgres             the same as --backends postgres (a throwaway server from Debian's binaries)
      --pg-fast              PostgreSQL without durability (fsync, synchronous_commit off)
      --app PATH             moe-web.dll to run (default: the one built with this benchmark)
      --out PATH             Markdown report (default artifacts/bench-web/web.md)
    """;

if (args.Length > 0 && args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return 0;
}
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine($"unexpected argument '{args[i]}'\n\n{Usage}"); return 2; }
    string name = args[i][2..];
    options[name] = name is "browser" or "postgres" or "pg-fast" ? "true"
        : i + 1 < args.Length ? args[++i] : Bad<string>($"--{name} needs a value");
}
string Option(string name, string fallback) => options.Remove(name, out var v) ? v : fallback;
int runs = int.Parse(Option("runs", "500"), CultureInfo.InvariantCulture);
int steps = int.Parse(Option("steps", "100000"), CultureInfo.InvariantCulture);
var concurrency = Option("concurrency", "1,8,32").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Select(c => int.Parse(c, CultureInfo.InvariantCulture)).Distinct().Order().ToList();
var workloadKeys = Option("workloads", string.Join(",", LoadBench.DefaultKeys)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Select(w => LoadBench.Keys.Contains(w) ? w : Bad<string>($"unknown workload '{w}'; use {string.Join(", ", LoadBench.Keys)}")).ToHashSet();
var duration = Machine.ParseDuration(Option("duration", "10s"));
var warmup = Machine.ParseDuration(Option("warmup", "2s"));
int pageReps = int.Parse(Option("page-reps", "30"), CultureInfo.InvariantCulture);
bool browser = Option("browser", "false") == "true";
int browserReps = int.Parse(Option("browser-reps", "10"), CultureInfo.InvariantCulture);
string backendOption = Option("postgres", "false") == "true" ? "postgres" : "sqlite";
var backends = Option("backends", backendOption).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Select(b => b switch { "sqlite" => "SQLite", "postgres" or "postgresql" => "PostgreSQL", _ => Bad<string>($"unknown backend '{b}'; use sqlite, postgres or both") })
    .Distinct().OrderBy(b => b == "PostgreSQL").ToList();
bool pgFast = Option("pg-fast", "false") == "true";
string appDll;
try { appDll = WebAppProcess.FindApp(options.Remove("app", out var appPath) ? Path.GetFullPath(appPath) : null); }
catch (InvalidOperationException e) { return Bad<int>(e.Message); }
string output = Option("out", Path.Combine("artifacts", "bench-web", "web.md"));
if (options.Count > 0) { Console.Error.WriteLine($"unknown option(s): {string.Join(", ", options.Keys.Select(k => "--" + k))}\n\n{Usage}"); return 2; }
if (runs < 1 || steps < 2000 || workloadKeys.Count == 0 || concurrency.Count == 0 || concurrency[0] < 1 || pageReps < 1 || browserReps < 1)
{
    Console.Error.WriteLine("--runs, --page-reps, --browser-reps and every concurrency must be at least 1; --steps at least 2000");
    return 2;
}

if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 180; // tables unwrapped in logs
var report = new Report();
var environment = report.Environment;
long started = Stopwatch.GetTimestamp();
environment.Add($"Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average at start: {Machine.LoadAverage()}");
environment.Add($"Machine: {Machine.CpuModel()}, {Environment.ProcessorCount} cores (nproc), {Machine.MemoryGiB()} GiB RAM; {RuntimeInformation.OSDescription}");
environment.Add($".NET {Environment.Version}; moe-web Release build as a child process ({WebAppProcess.GcMode(appDll)}, embedded silo with both roles " +
                "and its CPU worker, Warning logging); the load generator is this process, on the same machine");
environment.Add($"Parameters: {runs} runs listed, a {steps:N0}-step metric history, workloads {string.Join(",", LoadBench.Keys.Where(workloadKeys.Contains))}, concurrency {string.Join(",", concurrency)}, " +
                $"{Machine.Format(warmup)} warm-up + {Machine.Format(duration)} timed per workload and concurrency, {pageReps} server renders per page" +
                (browser ? $", {browserReps} warm browser visits" : ""));
foreach (var line in environment) AnsiConsole.MarkupLine($"[blue]{Markup.Escape(line)}[/]");

PostgresServer? postgres = null;
var load = new List<(string Backend, List<LoadResult> Results)>();
var pages = new List<(string Backend, List<PageResult> Pages)>();
var browsers = new List<(string Backend, PageBench.BrowserResult Result)>();
var setup = new ResultTable("Setup (seeding through the API, history through MetricStore)", ["step", .. backends]);
var setupCells = new Dictionary<string, List<string>>();
void Setup(string row, string value) => (setupCells.TryGetValue(row, out var cells) ? cells : setupCells[row] = []).Add(value);
try
{
    if (backends.Contains("PostgreSQL"))
    {
        Report.Progress($"starting a PostgreSQL server ({(pgFast ? "durability off" : "durable: fsync and synchronous_commit on")})");
        postgres = await PostgresServer.StartAsync(pgFast);
        environment.Add($"PostgreSQL {postgres.Version}, same machine, unix socket");
    }
    foreach (var backend in backends)
    {
        Report.Progress($"{backend}: starting moe-web ({appDll})");
        long appStart = Stopwatch.GetTimestamp();
        string? connection = backend == "PostgreSQL" ? await postgres!.CreateDatabaseAsync("web") : null;
        await using var app = await WebAppProcess.StartAsync(appDll, connection, TimeSpan.FromMinutes(3));
        Setup("start: process -> /readyz 200 (s)", Stats.F(Stopwatch.GetElapsedTime(appStart).TotalSeconds));
        var (cookie, cookies) = await app.SignInAsync();
        var key = await Api.PostAsync(cookie, "/api/v1/me/api-keys", new { name = "web-bench" }, HttpStatusCode.Created);
        using var api = Api.Client(app.BaseAddress, bearer: key["key"]!.GetValue<string>());

        var seeded = await Seeder.SeedAsync(app, api, runs, steps);
        Setup("runs launched (POST /api/v1/runs, 8 at once): runs/s", Stats.F(seeded.LaunchesPerSecond));
        Setup("status the runs ended in", seeded.RunStatus + (seeded.Note is null ? "" : $" ({seeded.Note})"));
        Setup($"metric history: {seeded.Points:N0} points (MetricStore.AppendAsync, 10k per batch): points/s", Stats.F(seeded.PointsPerSecond, 0));

        var workloads = LoadBench.Workloads(seeded, seeded.RunStatus, workloadKeys);
        Report.Progress($"{backend}: API load, {workloads.Count} workloads x {concurrency.Count} concurrencies");
        load.Add((backend, await LoadBench.RunAsync(app, key["key"]!.GetValue<string>(), workloads, concurrency, warmup, duration)));

        Report.Progress($"{backend}: server-side render of the dashboard and the run page ({pageReps} each)");
        pages.Add((backend, await PageBench.ServerAsync(cookie, seeded.MetricsRunId, steps, pageReps)));
        if (browser)
        {
            if (pages[^1].Pages[^1].Status != 200)
                Report.Progress($"{backend}: browser: skipped, the run page answers {pages[^1].Pages[^1].Status}");
            else
            {
                Report.Progress($"{backend}: the run page in Chromium (1 cold + 2 warm-up + {browserReps} visits)");
                browsers.Add((backend, await PageBench.BrowserAsync(app.BaseAddress, cookies, seeded.MetricsRunId, browserReps)));
            }
        }
        Setup("server memory after the benchmark (RSS, MiB)", Stats.F(app.RssMiB, 0));
        Setup("server log at Warning and above", app.LogSummary);
        Report.Progress($"{backend}: stopping moe-web");
    }
}
catch (Exception e)
{
    AnsiConsole.MarkupLine($"[red]failed: {Markup.Escape(e.ToString())}[/]");
    return 1;
}
finally
{
    if (postgres is not null) await postgres.DisposeAsync();
}

foreach (var (row, cells) in setupCells) setup.Row([row, .. cells.Concat(Enumerable.Repeat("-", backends.Count - cells.Count))]);
setup.Note("The runs require the worker tag \"bench-never\", which no worker has: the scheduler ends them as unschedulable (failed) " +
           "on its next pass, so none trains. The history is written into the app's own database while it runs, with the rollups the API reads.");
report.Add(setup);
bool label = backends.Count > 1;
LoadBench.AddTables(report, load, label);
PageBench.AddServerTable(report, pages, label);
if (browsers.Count > 0) PageBench.AddBrowserTable(report, browsers, steps, label);
environment.Add($"Whole run: {Stopwatch.GetElapsedTime(started).TotalMinutes:0.0} min; load average at the end: {Machine.LoadAverage()}");

string invocation = "dotnet run -c Release --project bench/Moe.WebBench -- " + string.Join(' ', args);
string markdown = report.ToMarkdown(invocation);
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, markdown);
Console.WriteLine();
Console.WriteLine(markdown);
Report.Progress($"done in {Stopwatch.GetElapsedTime(started).TotalMinutes:0.0} min; report: {output}");
return 0;

/// <summary>Says what is wrong with the command line and exits with 2.</summary>
static T Bad<T>(string message)
{
    Console.Error.WriteLine($"{message}\n(--help for the options)");
    Environment.Exit(2);
    return default!;
}
