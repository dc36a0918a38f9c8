using System.Collections.Immutable;

namespace Moe.Platform.Scheduling;

/// <summary>
/// A worker that accepts runs: its GPUs, its CPU slots and its tags (roles such as "train" or "a100"). What is
/// allocated on it comes from the <see cref="RunningJob"/>s that name it, so the two cannot disagree.
/// </summary>
public sealed record WorkerCapacity(
    string WorkerId, ImmutableArray<GpuInfo> Gpus, int CpuSlots, ImmutableArray<string> Tags = default)
{
    /// <summary>The tags, empty rather than default when none were given.</summary>
    public ImmutableArray<string> TagsOrEmpty => Tags.IsDefault ? [] : Tags;

    public ImmutableArray<GpuInfo> GpusOrEmpty => Gpus.IsDefault ? [] : Gpus;
}
