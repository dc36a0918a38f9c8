using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Experiments;
using Moe.Platform.Grains;
using Moe.Platform.Grains.Workers;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Orleans.TestingHost;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// The whole control plane in one process, as the embedded default runs it: one silo with the grains on a migrated
/// SQLite file, an artifact store, and a worker agent that runs the real trainer. Timers are short so tests are quick.
/// </summary>
public sealed class PlatformStack : IAsyncDisposable
{
    private readonly string _directory;
    private readonly InProcessTestCluster _cluster;

    private readonly string? _postgres;

    private PlatformStack(string directory, InProcessTestCluster cluster, IArtifactStore store, string? postgres)
    {
        (_directory, _cluster, Artifacts, _postgres) = (directory, cluster, store, postgres);
    }

    public IArtifactStore Artifacts { get; }
    public IClusterClient Client => _cluster.Client;
    public string DatabasePath => Path.Combine(_directory, "platform.db");

    /// <summary>The worker's folder: runs/&lt;run&gt;/ is the trainer's run folder.</summary>
    public string WorkDirectory => Path.Combine(_directory, "worker");

    /// <summary>The worker agent of the silo (to find the trainer process of a run).</summary>
    public WorkerAgent Worker =>
        ((InProcessSiloHandle)_cluster.Silos[0]).SiloHost.Services.GetRequiredService<WorkerAgent>();

    public PlatformDb NewContext() => new(PlatformDbOptions.Create(_postgres, DatabasePath));

    /// <param name="store">The artifact store (given the stack's folder); a local folder by default.</param>
    /// <param name="postgres">A PostgreSQL database for the metadata; the stack's SQLite file by default.</param>
    public static async Task<PlatformStack> StartAsync(Func<string, IArtifactStore>? store = null, string? postgres = null)
    {
        string directory = Directory.CreateTempSubdirectory("moe-e2e-").FullName;
        string database = Path.Combine(directory, "platform.db");
        await using (var db = new PlatformDb(PlatformDbOptions.Create(postgres, database))) await db.MigrateAsync();
        var artifacts = store?.Invoke(directory) ?? new LocalArtifactStore(Path.Combine(directory, "artifacts"));

        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddDbContextFactory<PlatformDb>(options => PlatformDbOptions.Configure(options, postgres, database));
            silo.Services.AddSingleton(artifacts);
            silo.AddPlatformGrains();
            silo.Services.Configure<SchedulerOptions>(o =>
            {
                o.PassInterval = TimeSpan.FromMilliseconds(200);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(10);
            });
            silo.Services.AddPlatformWorker(o =>
            {
                o.WorkerId = "local";
                o.WorkDirectory = Path.Combine(directory, "worker");
                o.TrainerPath = Path.Combine(AppContext.BaseDirectory, "moe-trainer.dll");
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
                o.MetricFlushInterval = TimeSpan.FromMilliseconds(300);
                o.StopGrace = TimeSpan.FromSeconds(30);
            });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        var stack = new PlatformStack(directory, cluster, artifacts, postgres);
        await stack.Worker.Ready.WaitAsync(TimeSpan.FromMinutes(1));
        return stack;
    }

    /// <summary>Creates an experiment with a fresh id and returns the id.</summary>
    public async Task<string> NewExperimentAsync(string name)
    {
        var id = PlatformIds.New("exp");
        await Client.GetExperiment(id).CreateAsync(new ExperimentSpec($"{name} {id}"));
        return id;
    }

    /// <summary>Polls the run until <paramref name="done"/> holds; fails with the run's history on timeout.</summary>
    public async Task<RunSnapshot> WaitForAsync(string runId, Func<RunSnapshot, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var run = await Client.GetRun(runId).GetAsync();
            if (done(run)) return run;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"run {runId} is {run.Status} after {timeout}; history:\n" +
                            string.Join("\n", run.History.Select(t => $"  {t.From} -> {t.To}: {t.Reason}")));
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
