using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Orleans.TestingHost;

namespace Moe.Platform.Tests.Grains;

/// <summary>
/// One in-process silo on the real stack: the "platform" grain storage is the EF Core provider on a migrated SQLite
/// file (with the projections into the queryable tables), and the artifact store a local folder. Shared by the tests
/// of one class (xunit class fixture); tests use fresh ids (<see cref="PlatformCluster.NewId"/>).
/// <see cref="PostgresDatabaseCluster"/> puts the same silo on a real PostgreSQL.
/// </summary>
public class DatabaseCluster : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("moe-dbcluster-").FullName;
    private InProcessTestCluster? _cluster;

    public string DatabasePath => Path.Combine(_directory, "platform.db");
    public string ArtifactsPath => Path.Combine(_directory, "artifacts");
    public LocalArtifactStore Artifacts { get; private set; } = null!;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster has not started");
    public IClusterClient Client => Cluster.Client;

    /// <summary>A new context on the cluster's database, to check what the grains wrote.</summary>
    public PlatformDb NewContext() => new(PlatformDbOptions.Create(Postgres, DatabasePath));

    /// <summary>The PostgreSQL connection string, or null for the SQLite file.</summary>
    protected string? Postgres { get; set; }

    /// <summary>Chooses the database before the silo starts.</summary>
    protected virtual Task PrepareDatabaseAsync() => Task.CompletedTask;

    public async ValueTask InitializeAsync()
    {
        await PrepareDatabaseAsync();
        await using (var db = NewContext()) await db.MigrateAsync();
        Artifacts = new LocalArtifactStore(ArtifactsPath);
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddDbContextFactory<PlatformDb>(options => PlatformDbOptions.Configure(options, Postgres, DatabasePath));
            silo.Services.AddSingleton<IArtifactStore>(Artifacts);
            silo.AddPlatformGrains();
            silo.Services.Configure<SchedulerOptions>(o => o.PassInterval = TimeSpan.Zero); // tests decide when to plan
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
        SqliteConnection.ClearAllPools(); // pooled connections keep the file open
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The same silo with its grain state and tables in a real PostgreSQL (a server of its own).</summary>
public sealed class PostgresDatabaseCluster : DatabaseCluster
{
    private readonly Metadata.PostgresFixture _server = new();

    protected override async Task PrepareDatabaseAsync()
    {
        await _server.InitializeAsync();
        Postgres = await _server.CreateDatabaseAsync(CancellationToken.None);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _server.DisposeAsync();
    }
}
