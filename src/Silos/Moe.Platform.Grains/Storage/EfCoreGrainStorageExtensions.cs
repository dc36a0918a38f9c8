using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Moe.Platform.Storage.Metadata;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Moe.Platform.Grains.Storage;

/// <summary>
/// Registers <see cref="EfCoreGrainStorage"/> as a named Orleans grain storage provider (a keyed
/// <see cref="IGrainStorage"/>), the way Orleans' own providers (AddMemoryGrainStorage) do. The host must also register
/// <see cref="IDbContextFactory{PlatformDb}"/> (AddDbContextFactory with <see cref="PlatformDbOptions.Configure"/>)
/// and migrate the database at start.
/// </summary>
public static class EfCoreGrainStorageExtensions
{
    /// <summary>The provider used by grains that name no storage (<c>[PersistentState("state")]</c>).</summary>
    public static ISiloBuilder AddEfCoreGrainStorageAsDefault(
        this ISiloBuilder builder, Action<OptionsBuilder<EfCoreGrainStorageOptions>>? configureOptions = null) =>
        builder.AddEfCoreGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>A provider that grains select by <paramref name="name"/> (<c>[PersistentState("state", name)]</c>).</summary>
    public static ISiloBuilder AddEfCoreGrainStorage(
        this ISiloBuilder builder, string name, Action<OptionsBuilder<EfCoreGrainStorageOptions>>? configureOptions = null)
    {
        builder.Services.AddEfCoreGrainStorage(name, configureOptions);
        return builder;
    }

    /// <inheritdoc cref="AddEfCoreGrainStorageAsDefault(ISiloBuilder, Action{OptionsBuilder{EfCoreGrainStorageOptions}}?)"/>
    public static IServiceCollection AddEfCoreGrainStorageAsDefault(
        this IServiceCollection services, Action<OptionsBuilder<EfCoreGrainStorageOptions>>? configureOptions = null) =>
        services.AddEfCoreGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <inheritdoc cref="AddEfCoreGrainStorage(ISiloBuilder, string, Action{OptionsBuilder{EfCoreGrainStorageOptions}}?)"/>
    public static IServiceCollection AddEfCoreGrainStorage(
        this IServiceCollection services, string name, Action<OptionsBuilder<EfCoreGrainStorageOptions>>? configureOptions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        configureOptions?.Invoke(services.AddOptions<EfCoreGrainStorageOptions>(name));
        services.TryAddEnumerable(ServiceDescriptor.Transient<IPostConfigureOptions<EfCoreGrainStorageOptions>, EfCoreGrainStorageSerializerDefaults>());
        services.AddGrainStorage(name, Create);
        return services;
    }

    static EfCoreGrainStorage Create(IServiceProvider services, string name) => new(
        name,
        services.GetRequiredService<IDbContextFactory<PlatformDb>>(),
        services.GetRequiredService<IOptionsMonitor<EfCoreGrainStorageOptions>>().Get(name),
        services.GetRequiredService<IActivatorProvider>(),
        services.GetServices<IGrainStateProjection>());
}
