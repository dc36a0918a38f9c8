using Orleans;
using System.Collections.Immutable;
using Moe.Platform.Runs;

namespace Moe.Platform.Serialization;

[GenerateSerializer, Immutable]
internal readonly record struct RunLifecycleStateSurrogate(
    RunStatus Status, int Attempt, int MaxRetries, ImmutableArray<RunTransition> History);

[RegisterConverter]
internal sealed class RunLifecycleStateConverter : IConverter<RunLifecycleState, RunLifecycleStateSurrogate>
{
    public RunLifecycleState ConvertFromSurrogate(in RunLifecycleStateSurrogate surrogate) =>
        new(surrogate.Status, surrogate.Attempt, surrogate.MaxRetries, surrogate.History);

    public RunLifecycleStateSurrogate ConvertToSurrogate(in RunLifecycleState value) =>
        new(value.Status, value.Attempt, value.MaxRetries, value.History);
}
