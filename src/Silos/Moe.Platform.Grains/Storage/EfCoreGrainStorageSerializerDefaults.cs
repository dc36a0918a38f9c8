using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace Moe.Platform.Grains.Storage;

/// <summary>
/// Picks the serializer of a provider left without one: a serializer registered under the provider's name, else
/// Orleans' System.Text.Json one (with the silo's <see cref="SystemTextJsonGrainStorageSerializerOptions"/>). Not the
/// silo-wide default, as Orleans' own providers fall back to: that is Newtonsoft with "$type"/"$id" on every object,
/// which ties stored rows to CLR type names and makes <c>state_json</c> awkward to query from SQL.
/// </summary>
public sealed class EfCoreGrainStorageSerializerDefaults(IServiceProvider services) : IPostConfigureOptions<EfCoreGrainStorageOptions>
{
    public void PostConfigure(string? name, EfCoreGrainStorageOptions options)
    {
        if (options.GrainStorageSerializer is not null) return;
        options.GrainStorageSerializer = (name is null ? null : services.GetKeyedService<IGrainStorageSerializer>(name))
            ?? new SystemTextJsonGrainStorageSerializer(services.GetRequiredService<IOptions<SystemTextJsonGrainStorageSerializerOptions>>());
    }
}
