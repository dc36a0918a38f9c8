using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Metadata;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Moe.Platform.Tests.GrainStorage;

/// <summary>A test silo whose default grain storage is the EF Core provider on the SQLite file named in its configuration.</summary>
public sealed class SqliteSiloConfigurator : ISiloConfigurator
{
    public const string SqlitePathKey = "GrainStorageTests:SqlitePath";

    public void Configure(ISiloBuilder silo)
    {
        string path = silo.Configuration[SqlitePathKey] ?? throw new InvalidOperationException($"{SqlitePathKey} is not set");
        silo.Services.AddDbContextFactory<PlatformDb>(options => PlatformDbOptions.Configure(options, null, path));
        silo.AddEfCoreGrainStorageAsDefault();
    }
}
