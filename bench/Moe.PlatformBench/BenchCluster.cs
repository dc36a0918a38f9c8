using System.Collections.Immutable;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Moe.Platform;
using Moe.Platform.Experiments;
using Moe.Platform.Grains;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Orleans.TestingHost;

using Moe.Platform.Testing;

namespace Moe.PlatformBench;

/// <summary>Which metadata database a benchmark runs on.</summary>
public enum Backend { Sqlite, Postgres }

/// <summary>A fresh, migrated metadata database: a SQLite file in a temp dir, or a new database on the benchmark's server.</summary>
public sealed class BenchDatabase
{
    public required Backend Backend { get; init; }
    public required string SqlitePath { get; init; }
    public string? PostgresConnectionString { get; init; }
    public string Label => Backend == Backend.Sqlite ? "SQLite" : "PostgreSQL";

    public DbContextOptions<PlatformDb> Options => PlatformDbOptions.Create(PostgresConnectionString, SqlitePath);
    public PlatformDb NewContext() => new(Options);

    public static async Task<BenchDatabase> CreateAsync(Backend backend, PostgresServer? postgres, string directory, string name)
    {
        var database = new BenchDatabase
        {
            Backend = backend,
            SqlitePath = Path.Combine(directory, name + ".db"),
            PostgresConnectionString = backend == Backend.Postgres
                ? await (postgres ?? throw new InvalidOperationException("no PostgreSQL server")).CreateDatabaseAsync(name)
                : null,
        };
        await using var db = database.NewContext();
        await db.MigrateAsync();
        return database;
    }

    /// <summary>The settings that decide commit cost, for the report.</summary>
    public async Task<string> DescribeAsync()
    {
        if (Backend == Backend.Postgres) return "PostgreSQL";
        await using var db = NewContext();
        await db.Database.OpenConnectionAsync(); // through EF Core, so the platform's connection interceptors run
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "SELECT sqlite_version() || ', journal_mode=' || (SELECT journal_mode FROM pragma_journal_mode) || " +
            "', synchronous=' || (SELECT synchronous FROM pragma_synchronous) || ', busy_timeout=' || (SELECT timeout FROM pragma_busy_timeout) || ' ms'";
        return "SQLite " + (string)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>
/// One in-process silo on the real stack (EF Core grain storage with its projections on <see cref="BenchDatabase"/>,
/// a local artifact folder), as in the tests' DatabaseCluster, with the scheduler's own timer off so the benchmark
/// drives its passes. Logging is off except warnings, which are counted (a benchmark with warnings is suspect).
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    public const long GiB = 1L << 30;

    /// <summary>A config the Trainer's validation accepts (never opened: these runs never train).</summary>
    public const string ValidConfig =
        """{"tokenizer":"/data/tokenizer.json","data":{"datasets":[{"name":"d","path":"/data/d"}]},"training":{"steps":100}}""";

    readonly InProcessTestCluster _cluster;
    public BenchDatabase Database { get; }
    public IClusterClient Client => _cluster.Client;
    public ISchedulerGrain Scheduler => Client.GetScheduler();
    public static WarningCounter Warnings { get; } = new();

    BenchCluster(InProcessTestCluster cluster, BenchDatabase database) => (_cluster, Database) = (cluster, database);

    public static async Task<BenchCluster> StartAsync(BenchDatabase database, string artifactsDirectory, int experiments)
    {
        var artifacts = new LocalArtifactStore(artifactsDirectory);
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureHost(host =>
        {
            host.Logging.ClearProviders();
            host.Logging.SetMinimumLevel(LogLevel.Warning);
            host.Logging.AddProvider(Warnings);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddDbContextFactory<PlatformDb>(o => PlatformDbOptions.Configure(o, database.PostgresConnectionString, database.SqlitePath));
            silo.Services.AddSingleton<IArtifactStore>(artifacts);
            silo.Services.Configure<SchedulerOptions>(o => { o.PassInterval = TimeSpan.Zero; o.HeartbeatTimeout = TimeSpan.FromHours(1); });
            silo.AddPlatformGrains();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        var bench = new BenchCluster(cluster, database);
        for (int i = 0; i < experiments; i++)
            await bench.Client.GetExperiment(ExperimentId(i)).CreateAsync(new ExperimentSpec($"bench experiment {i}"));
        return bench;
    }

    public static string ExperimentId(int i) => $"bench-exp-{i:D2}";

    public static RunSpec Spec(int experiment, int priority, int gpus, long gpuGiB, int cpu) =>
        new(ExperimentId(experiment), "bench run", priority, new ResourceRequest(gpus, gpuGiB * GiB, cpu), ValidConfig, 2, []);

    public static WorkerCapacity Worker(string id, int gpus, long gpuGiB, int cpu) =>
        new(id, [.. Enumerable.Range(0, gpus).Select(i => new GpuInfo(i, "H100", gpuGiB * GiB, gpuGiB * GiB))], cpu, ImmutableArray<string>.Empty);

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        SqliteConnection.ClearAllPools(); // pooled connections keep the file open
    }
}

/// <summary>Counts the silo's warnings and errors by kind and prints the first few.</summary>
public sealed class WarningCounter : ILoggerProvider
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _kinds = new();
    int _count;
    public int Count => _count;

    /// <summary>"3 x Orleans...WorkItemGroup (turn longer than 1 s)", most frequent first.</summary>
    public string Summary => _count == 0 ? "none" : string.Join("; ", _kinds.OrderByDescending(k => k.Value).Select(k => $"{k.Value} x {k.Key}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void Dispose() { }

    sealed class Logger(WarningCounter owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string message = formatter(state, exception);
            if (message.Contains("ServerGC", StringComparison.Ordinal)) return; // Orleans' advice; the benchmark keeps the default GC
            string kind = category.Split('.')[^1] + (message.Contains("took elapsed time", StringComparison.Ordinal) ? " (grain turn over 1 s)" : $" {logLevel}");
            owner._kinds.AddOrUpdate(kind, 1, (_, n) => n + 1);
            if (Interlocked.Increment(ref owner._count) <= 3)
                Console.Error.WriteLine($"[{logLevel}] {category}: {message}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
        }
    }
}
