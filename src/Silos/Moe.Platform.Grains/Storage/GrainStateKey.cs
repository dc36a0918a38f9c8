using Orleans.Runtime;

namespace Moe.Platform.Grains.Storage;

/// <summary>
/// Primary key of one grain's state in <c>grain_states</c>. A grain may hold several persistent states, so the state
/// name is part of the key: it goes after the grain type ("run/state"), which cannot be ambiguous because an Orleans
/// grain type never contains '/' (GrainId's text form is "type/key"). The grain key is stored unchanged, so the
/// state of all runs is <c>grain_type = 'run/state'</c> and one run is <c>grain_id = '&lt;run id&gt;'</c>.
/// </summary>
public readonly record struct GrainStateKey(string GrainType, string GrainId)
{
    public static GrainStateKey For(string stateName, GrainId grainId) =>
        new($"{grainId.Type}/{stateName}", grainId.Key.ToString()!);

    public override string ToString() => $"{GrainType}:{GrainId}";
}
