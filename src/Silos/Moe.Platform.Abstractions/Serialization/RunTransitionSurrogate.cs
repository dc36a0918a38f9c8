using Orleans;
using Moe.Platform.Runs;

namespace Moe.Platform.Serialization;

// Core has no Orleans reference, so its records cross grain boundaries (and reach grain storage) as surrogates.

[GenerateSerializer, Immutable]
internal readonly record struct RunTransitionSurrogate(RunStatus From, RunStatus To, DateTimeOffset At, string Reason);

[RegisterConverter]
internal sealed class RunTransitionConverter : IConverter<RunTransition, RunTransitionSurrogate>
{
    public RunTransition ConvertFromSurrogate(in RunTransitionSurrogate surrogate) =>
        new(surrogate.From, surrogate.To, surrogate.At, surrogate.Reason);

    public RunTransitionSurrogate ConvertToSurrogate(in RunTransition value) =>
        new(value.From, value.To, value.At, value.Reason);
}
