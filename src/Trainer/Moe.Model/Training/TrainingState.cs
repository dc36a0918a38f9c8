using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Moe.Model.Training;

/// <summary>
/// The <c>state.json</c> beside a checkpoint's weights: what resuming needs besides tensors. The run config carries the
/// model config; the optimiser's moments live in <c>optimizer.safetensors</c>.
/// </summary>
public sealed record TrainingState
{
    public const string CurrentFormat = "moe-checkpoint/1";
    public string Format { get; init; } = CurrentFormat;
    /// <summary>Optimiser steps completed.</summary>
    public long Step { get; init; }
    public long TokensSeen { get; init; }
    public required RunConfig Config { get; init; }
    /// <summary>SHA-256 of the tokenizer.json the run trains with (copied beside the weights).</summary>
    public required string TokenizerHash { get; init; }
    public required OptimizerState Optimizer { get; init; }
    public required RngState Rng { get; init; }
    /// <summary>The data sampler's position (JSON of the mixture sampler), so the next batch is the one that would have come.</summary>
    public required JsonNode Data { get; init; }
    public double? ValLoss { get; init; }
    public double? BestValLoss { get; init; }
    public long? BestStep { get; init; }
    public double ElapsedSeconds { get; init; }
    public DateTimeOffset Created { get; init; }
}

public sealed record OptimizerState(string Type, long Step, double Beta1, double Beta2, double Eps, double WeightDecay);

/// <summary>
/// Randomness is re-seeded at every step from (seed, step), so the state to restore is the pair itself: a resumed run
/// draws the same noise (noisy top-k) as the uninterrupted one, on any device.
/// </summary>
public sealed record RngState(long Seed, string Scheme)
{
    public const string PerStep = "torch.manual_seed(splitmix64(seed ^ step)) before each step";

    public static long StepSeed(long seed, long step)
    {
        var z = unchecked((ulong)(seed ^ (step * 0x632BE59BD9B4E019L)) + 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (long)((z ^ (z >> 31)) >> 1);
    }
}
