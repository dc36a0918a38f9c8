using Moe.Platform.Metrics;
using Orleans;

namespace Moe.Platform.Serialization;

[GenerateSerializer, Immutable]
internal readonly record struct MetricPointSurrogate(long Step, string Name, double Value);

[RegisterConverter]
internal sealed class MetricPointConverter : IConverter<MetricPoint, MetricPointSurrogate>
{
    public MetricPoint ConvertFromSurrogate(in MetricPointSurrogate surrogate) => new(surrogate.Step, surrogate.Name, surrogate.Value);

    public MetricPointSurrogate ConvertToSurrogate(in MetricPoint value) => new(value.Step, value.Name, value.Value);
}
