using Orleans;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Serialization;

[GenerateSerializer, Immutable]
internal readonly record struct GpuInfoSurrogate(int Index, string Name, long TotalMemoryBytes, long FreeMemoryBytes);

[RegisterConverter]
internal sealed class GpuInfoConverter : IConverter<GpuInfo, GpuInfoSurrogate>
{
    public GpuInfo ConvertFromSurrogate(in GpuInfoSurrogate surrogate) =>
        new(surrogate.Index, surrogate.Name, surrogate.TotalMemoryBytes, surrogate.FreeMemoryBytes);

    public GpuInfoSurrogate ConvertToSurrogate(in GpuInfo value) =>
        new(value.Index, value.Name, value.TotalMemoryBytes, value.FreeMemoryBytes);
}
