using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// A worker that accepts runs: its GPUs, its CPU slots and its tags (roles such as "train" or "a100"). What is
/// allocated on it comes from the <see cref="RunningJob"/>s that name it, so the two cannot disagree.
/// <paramref name="Incarnation"/> is new each time the worker process starts: the same worker id with another incarnation
/// is the worker restarted, and nothing the earlier incarnation ran is running any more.
/// </summary>
public sealed record WorkerCapacity(
    string WorkerId, ImmutableArray<GpuInfo> Gpus, int CpuSlots, ImmutableArray<string> Tags = default, string? Incarnation = null)
{
    /// <summary>The tags, empty rather than default when none were given.</summary>
    public ImmutableArray<string> TagsOrEmpty => Tags.IsDefault ? [] : Tags;

    public ImmutableArray<GpuInfo> GpusOrEmpty => Gpus.IsDefault ? [] : Gpus;
}
