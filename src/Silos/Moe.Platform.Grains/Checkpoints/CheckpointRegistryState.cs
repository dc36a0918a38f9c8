using Moe.Platform.Checkpoints;

namespace Moe.Platform.Grains.Checkpoints;

/// <summary>What a checkpoint-registry grain persists: the run's kept checkpoints, by step ascending, with their pins.</summary>
[GenerateSerializer]
public sealed class CheckpointRegistryState
{
    [Id(0)] public List<CheckpointRecord> Checkpoints { get; set; } = [];
}
