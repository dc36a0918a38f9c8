using Orleans.Storage;

namespace Moe.Platform.Grains.Storage;

/// <summary>Options of one named <see cref="EfCoreGrainStorage"/> provider.</summary>
public sealed class EfCoreGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>
    /// Turns grain state into the text stored in <c>grain_states.state_json</c>; it must produce UTF-8 text (JSON, so
    /// the table stays queryable). Left unset, <see cref="EfCoreGrainStorageSerializerDefaults"/> fills it in.
    /// </summary>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = null!;
}
