using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Tests.Metadata;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Moe.Platform.Tests.GrainStorage;

/// <summary>
/// The provider as a silo would get it (registered by name, resolved as a keyed <see cref="IGrainStorage"/>), on a
/// migrated test database, without the rest of a silo. Each <see cref="ReadAsync{T}"/> stands for one activation.
/// </summary>
public sealed class GrainStorageHarness : IAsyncDisposable
{
    public const string ProviderName = "platform";

    readonly TestDatabase _database;
    readonly ServiceProvider _services;

    GrainStorageHarness(TestDatabase database, ServiceProvider services)
    {
        _database = database;
        _services = services;
        Storage = services.GetRequiredKeyedService<IGrainStorage>(ProviderName);
    }

    public IGrainStorage Storage { get; }

    public static async Task<GrainStorageHarness> CreateAsync(TestDatabase database, CancellationToken cancellationToken)
    {
        await using (var db = await database.MigratedContextAsync(cancellationToken)) { }
        var services = new ServiceCollection();
        services.AddSerializer();
        services.AddSingleton<IDbContextFactory<PlatformDb>>(new TestDatabaseContextFactory(database));
        services.AddEfCoreGrainStorage(ProviderName); // the default serializer: Orleans' System.Text.Json one
        return new GrainStorageHarness(database, services.BuildServiceProvider());
    }

    public PlatformDb NewContext() => _database.NewContext();

    public async Task<GrainState<T>> ReadAsync<T>(string stateName, GrainId grainId, CancellationToken cancellationToken)
    {
        var state = new GrainState<T>();
        await Storage.ReadStateAsync(stateName, grainId, state, cancellationToken);
        return state;
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }
}
