using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// The control plane's metadata database: SQLite by default, PostgreSQL in production (see <see cref="PlatformDbOptions"/>).
/// Each provider has its own migration set (Migrations/Sqlite, Migrations/Postgres), applied by <see cref="MigrateAsync"/>.
/// </summary>
public class PlatformDb(DbContextOptions<PlatformDb> options) : DbContext(options)
{
    public DbSet<Experiment> Experiments => Set<Experiment>();
    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<DatasetVersion> DatasetVersions => Set<DatasetVersion>();
    public DbSet<Run> Runs => Set<Run>();
    public DbSet<RunTransition> RunTransitions => Set<RunTransition>();
    public DbSet<MetricSeries> MetricSeries => Set<MetricSeries>();
    public DbSet<MetricSample> MetricSamples => Set<MetricSample>();
    public DbSet<MetricRollup> MetricRollups => Set<MetricRollup>();
    public DbSet<Checkpoint> Checkpoints => Set<Checkpoint>();
    public DbSet<ModelVersion> ModelVersions => Set<ModelVersion>();
    public DbSet<ModelAlias> ModelAliases => Set<ModelAlias>();
    public DbSet<Evaluation> Evaluations => Set<Evaluation>();
    public DbSet<EvaluationSchedule> EvaluationSchedules => Set<EvaluationSchedule>();
    public DbSet<RoutingAnalysis> RoutingAnalyses => Set<RoutingAnalysis>();
    public DbSet<RunLogLine> RunLogs => Set<RunLogLine>();
    public DbSet<Project> Projects => Set<Project>();
    public DbSet<ProjectMember> ProjectMembers => Set<ProjectMember>();
    public DbSet<User> Users => Set<User>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<GrainState> GrainStates => Set<GrainState>();

    public bool IsPostgres => Database.ProviderName == PlatformDbOptions.PostgresProvider;

    /// <summary>Creates the database if needed and applies this provider's pending migrations (at process start).</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await Database.MigrateAsync(cancellationToken);
        // WAL lets the portal read while a worker ingests metrics; the mode is stored in the file, so once suffices.
        if (!IsPostgres) await Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder conventions)
    {
        // Every timestamp is UTC; SQLite forgets the kind, so it is restored on read (Npgsql also requires UTC on write).
        conventions.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        conventions.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder model) => PlatformDbModel.Configure(model, IsPostgres);

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        BeforeSave();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        BeforeSave();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>Renews concurrency tokens (the original value still guards the UPDATE) and keeps ready datasets immutable.</summary>
    void BeforeSave()
    {
        foreach (EntityEntry entry in ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified)) continue;
            switch (entry.Entity)
            {
                case IVersioned versioned when entry.State == EntityState.Modified:
                    versioned.Version = (long)entry.Property(nameof(IVersioned.Version)).OriginalValue! + 1;
                    break;
                case GrainState grain:
                    grain.ETag = Guid.NewGuid().ToString("N");
                    grain.UpdatedAt = DateTime.UtcNow;
                    break;
                case DatasetVersion when entry.State == EntityState.Modified
                    && (DatasetVersionStatus)entry.Property(nameof(DatasetVersion.Status)).OriginalValue! == DatasetVersionStatus.Ready:
                    throw new PlatformException("dataset_version", $"{entry.Property(nameof(DatasetVersion.Id)).CurrentValue} is ready and immutable");
            }
        }
    }
}
