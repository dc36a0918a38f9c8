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

        services.AddSingleton<IArtifactStore>(_ => string.IsNullOrWhiteSpace(options.AzureBlob)
            ? new LocalArtifactStore(Path.GetFullPath(options.ArtifactsDirectory ?? Path.Combine(dataDirectory, "artifacts")))
            : new AzureBlobArtifactStore(options.AzureBlob, options.BlobContainer));
        if (options.IsControl)
        {
            string sqlite = Path.Combine(dataDirectory, "platform.db");
            services.AddDbContextFactory<PlatformDb>(db => PlatformDbOptions.Configure(db, options.Postgres, sqlite));
            // Registered before the silo, so the schema is current before any grain reads its state.
            services.AddHostedService<DatabaseMigrator>();
        }

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
