using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moe.Platform.Grains.Workers;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Orleans.Configuration;

namespace Moe.Platform.Grains.Hosting;

/// <summary>
/// Makes a host a platform silo with the roles its configuration names. The silo host (src/Silos/Moe.Silos) and, from
/// part 4, the web app call this; tests call it with their own options.
/// </summary>
public static class PlatformSiloExtensions
{
    public static PlatformSiloOptions ReadPlatformSiloOptions(this IConfiguration configuration)
    {
        var options = configuration.GetSection(PlatformSiloOptions.Section).Get<PlatformSiloOptions>() ?? new PlatformSiloOptions();
        options.Postgres ??= configuration.GetConnectionString("Postgres");
        options.Redis ??= configuration.GetConnectionString("Redis");
        options.AzureBlob ??= configuration.GetConnectionString("AzureBlob");
        return options;
    }

    public static IHostApplicationBuilder AddPlatformSilo(this IHostApplicationBuilder builder, PlatformSiloOptions? options = null)
    {
        options ??= builder.Configuration.ReadPlatformSiloOptions();
        options.Validate();
        string dataDirectory = Path.GetFullPath(options.DataDirectory);
        var services = builder.Services;

        if (options.IsControl) services.AddPlatformMetadata(options);
        else services.AddPlatformArtifacts(options);

        builder.UseOrleans(silo =>
        {
            if (string.IsNullOrWhiteSpace(options.Redis))
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ClusterId, clusterId: options.ClusterId);
            }
            else
            {
                silo.UseRedisClustering(options.Redis);
                silo.ConfigureEndpoints(options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
                silo.Configure<ClusterOptions>(c => (c.ClusterId, c.ServiceId) = (options.ClusterId, options.ClusterId));
            }
            if (options.IsControl) silo.AddPlatformGrains();
            // Each role hosts only its grains: runs, the scheduler and the registries never activate on a worker that
            // may leave; a worker's grain never activates where no trainer can run.
            silo.Services.PostConfigure<GrainTypeOptions>(grainTypes =>
                grainTypes.Classes.RemoveWhere(type => type.Assembly == typeof(WorkerGrain).Assembly
                    && (type == typeof(WorkerGrain) ? !options.IsWorker : !options.IsControl)));
        });

        if (options.IsWorker)
        {
            var workerSection = builder.Configuration.GetSection("Worker");
            services.AddPlatformWorker(worker =>
            {
                worker.WorkDirectory = Path.Combine(dataDirectory, "worker");
                workerSection.Bind(worker);
            });
        }
        return builder;
    }

    /// <summary>
    /// Joins a platform cluster as a client (the web app's client mode): grain calls go to the control silos through a
    /// gateway found in Redis (or on this machine's gateway port without Redis). The metadata database and artifact store
    /// are the cluster's own, read directly for queries and downloads.
    /// </summary>
    public static IHostApplicationBuilder AddPlatformClient(this IHostApplicationBuilder builder, PlatformSiloOptions? options = null)
    {
        options ??= builder.Configuration.ReadPlatformSiloOptions();
        builder.Services.AddPlatformMetadata(options);
        builder.UseOrleansClient(client =>
        {
            if (string.IsNullOrWhiteSpace(options.Redis)) client.UseLocalhostClustering(options.GatewayPort, options.ClusterId, options.ClusterId);
            else
            {
                client.UseRedisClustering(options.Redis);
                client.Configure<ClusterOptions>(c => (c.ClusterId, c.ServiceId) = (options.ClusterId, options.ClusterId));
            }
        });
        return builder;
    }

    /// <summary>The artifact store the options name: Azure Blob Storage with a connection string, else the local folder.</summary>
    public static IServiceCollection AddPlatformArtifacts(this IServiceCollection services, PlatformSiloOptions options)
    {
        string dataDirectory = Path.GetFullPath(options.DataDirectory);
        services.AddSingleton<IArtifactStore>(_ => string.IsNullOrWhiteSpace(options.AzureBlob)
            ? new LocalArtifactStore(Path.GetFullPath(options.ArtifactsDirectory ?? Path.Combine(dataDirectory, "artifacts")))
            : new AzureBlobArtifactStore(options.AzureBlob, options.BlobContainer));
        return services;
    }

    /// <summary>
    /// The metadata database (PostgreSQL with a connection string, else SQLite under the data directory), migrated when
    /// the host starts (before the silo, so no grain reads an old schema; EF Core serialises concurrent migrators), and
    /// the artifact store.
    /// </summary>
    public static IServiceCollection AddPlatformMetadata(this IServiceCollection services, PlatformSiloOptions options)
    {
        string sqlite = Path.Combine(Path.GetFullPath(options.DataDirectory), "platform.db");
        services.AddDbContextFactory<PlatformDb>(db => PlatformDbOptions.Configure(db, options.Postgres, sqlite));
        services.AddHostedService<DatabaseMigrator>();
        return services.AddPlatformArtifacts(options);
    }

    /// <summary>Creates the database or applies pending migrations when the host starts.</summary>
    private sealed class DatabaseMigrator(IDbContextFactory<PlatformDb> databases) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            await db.MigrateAsync(cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
