using Moe.Platform.Testing;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Moe.PlatformBench;
using Spectre.Console;

const string Usage = """
    Moe.PlatformBench: control-plane benchmarks on SQLite and PostgreSQL (docs/benchmarks-control-plane.md).

    Commands:
      metrics      ingestion rate (points/s) through the Run grain: 1 run, 1 run straight into MetricStore, 8 runs at once
      scheduling   submit + drain N queued jobs on 50 simulated 8-GPU workers: throughput, latency, one pass, Scheduler.Plan
      query        MetricStore.QueryAsync on a 100k-step series: downsampled (1000 points) vs raw reads of the same ranges
                   (whole run, 10k-step zoom, 5k-step zoom below the first rollup level)
      all          the three, one report

    Options:
      --backends sqlite,postgres   which databases (default both; PostgreSQL from Debian's server binaries, started here)
      --reps N                     timed repetitions of the metrics and query measurements (default 5)
      --drains N                   timed drains of the scheduling benchmark (default 3)
      --steps N                    steps of the queried series (default 100000)
      --scale X                    shrink every workload by X (e.g. 0.1 for a smoke run; default 1)
      --modes CxN,...              scheduling: C client calls in flight at once (submissions and simulated workers), N jobs
                                   per drain (default 8x1000; 1x1000 = one call at a time, no write contention)
      --explain                    query: print each backend's plan of the raw-grouping bucket query (diagnostic)
      --pg-fast                    PostgreSQL without durability (fsync, synchronous_commit off), like the tests
      --min-threads N              thread-pool minimum (default 64; 0 = .NET's default, one per core), see the doc
      --out PATH                   Markdown report (default artifacts/bench-control-plane/<command>.md)
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}
string command = args[0];
if (command is not ("metrics" or "scheduling" or "query" or "all"))
{
    Console.Error.WriteLine($"unknown command '{command}'\n\n{Usage}");
    return 2;
}

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine($"unexpected argument '{args[i]}'"); return 2; }
    string name = args[i][2..];
    options[name] = name is "pg-fast" or "explain" ? "true" : i + 1 < args.Length ? args[++i] : throw new ArgumentException($"--{name} needs a value");
}
string Option(string name, string fallback) => options.Remove(name, out var v) ? v : fallback;
var backends = Option("backends", "sqlite,postgres").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Select(b => b switch { "sqlite" => Backend.Sqlite, "postgres" or "postgresql" => Backend.Postgres, _ => throw new ArgumentException($"unknown backend '{b}'") })
    .Distinct().Order().ToList();
int reps = int.Parse(Option("reps", "5"));
int drains = int.Parse(Option("drains", "3"));
int steps = int.Parse(Option("steps", "100000"));
double scale = double.Parse(Option("scale", "1"), System.Globalization.CultureInfo.InvariantCulture);
bool pgFast = Option("pg-fast", "false") == "true";
var modes = Option("modes", "8x1000").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Select(SchedulingBench.Mode.Parse).ToList();
bool explain = Option("explain", "false") == "true";
int minThreads = int.Parse(Option("min-threads", "64"));
string output = Option("out", Path.Combine("artifacts", "bench-control-plane", command + ".md"));
if (options.Count > 0) { Console.Error.WriteLine($"unknown option(s): {string.Join(", ", options.Keys.Select(k => "--" + k))}"); return 2; }

if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160; // tables unwrapped in logs
// SQLite commands block their thread (Microsoft.Data.Sqlite has no async I/O; waiting for the write lock sleeps in
// SQLite's busy handler): with the default minimum (one thread per core) the pool grows only slowly under that
// blocking, so whichever backend ran first would pay for growing it. A long-running silo's pool has grown already.
if (minThreads > 0) ThreadPool.SetMinThreads(minThreads, minThreads);
ThreadPool.GetMinThreads(out int minWorkers, out _);
long started = Stopwatch.GetTimestamp();
PostgresServer? postgres = null;
if (backends.Contains(Backend.Postgres))
{
    Report.Progress($"starting a PostgreSQL server ({(pgFast ? "durability off" : "durable: fsync and synchronous_commit on")})");
    postgres = await PostgresServer.StartAsync(pgFast);
}
await using var context = new BenchContext
{
    Backends = backends, Postgres = postgres, Directory = Directory.CreateTempSubdirectory("moe-platform-bench-").FullName,
    Repetitions = reps, Scale = scale,
};
var environment = context.Report.Environment;
environment.Add($"Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average at start: {LoadAverage()}");
environment.Add($"Machine: {CpuModel()}, {Environment.ProcessorCount} cores (nproc), {MemoryGiB()} GiB RAM; {RuntimeInformation.OSDescription}");
environment.Add($".NET {Environment.Version}, Release build, workstation GC, thread-pool minimum {minWorkers}; Orleans in-process silo and client in the benchmark process");
if (backends.Contains(Backend.Sqlite))
{
    var probe = await context.NewDatabaseAsync(Backend.Sqlite, "probe");
    environment.Add($"{await probe.DescribeAsync()} (the platform's settings; file on the VM's disk)");
}
if (postgres is not null) environment.Add($"PostgreSQL {postgres.Version}, same machine, unix socket, defaults otherwise");
foreach (var line in environment) AnsiConsole.MarkupLine($"[blue]{Markup.Escape(line)}[/]");

try
{
    if (command is "metrics" or "all") await MetricsBench.RunAsync(context);
    if (command is "scheduling" or "all") await SchedulingBench.RunAsync(context, modes, drains);
    if (command is "query" or "all") await QueryBench.RunAsync(context, steps, explain);
}
catch (Exception e)
{
    AnsiConsole.MarkupLine($"[red]failed: {Markup.Escape(e.ToString())}[/]");
    return 1;
}
environment.Add($"Whole run: {Stopwatch.GetElapsedTime(started).TotalMinutes:0.0} min; load average at the end: {LoadAverage()}; " +
    $"silo warnings: {BenchCluster.Warnings.Summary}");

string invocation = "dotnet run -c Release --project bench/Moe.PlatformBench -- " + string.Join(' ', args);
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, context.Report.ToMarkdown(invocation));
Report.Progress($"done in {Stopwatch.GetElapsedTime(started).TotalMinutes:0.0} min; silo warnings: {BenchCluster.Warnings.Summary}; report: {output}");
return 0;

static string CpuModel() => File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
    : RuntimeInformation.ProcessArchitecture.ToString();

static string MemoryGiB()
{
    var line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) : null;
    return line is null ? "?" : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0 / 1024).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
