using Orleans;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Serialization;

[GenerateSerializer, Immutable]
internal readonly record struct ResourceRequestSurrogate(int Gpus, long GpuMemoryBytes, int CpuSlots);

[RegisterConverter]
internal sealed class ResourceRequestConverter : IConverter<ResourceRequest, ResourceRequestSurrogate>
{
    public ResourceRequest ConvertFromSurrogate(in ResourceRequestSurrogate surrogate) =>
        new(surrogate.Gpus, surrogate.GpuMemoryBytes, surrogate.CpuSlots);

    public ResourceRequestSurrogate ConvertToSurrogate(in ResourceRequest value) =>
        new(value.Gpus, value.GpuMemoryBytes, value.CpuSlots);
}
