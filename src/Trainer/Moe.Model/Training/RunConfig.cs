using System.Text.Json.Serialization;
using Moe.Model.Config;

namespace Moe.Model.Training;

/// <summary>
/// Everything a training run needs, as one JSON file (snake_case): the model, the tokenizer, the data mixture and the
/// optimisation settings. <c>model</c> may be a path to a model config (relative to the run config) or the object itself.
/// </summary>
public sealed record RunConfig
{
    [JsonPropertyName("_comment")] public string? Comment { get; init; }
    public string Name { get; init; } = "run";
    /// <summary>What the run trains; post-training kinds (SFT, distillation, GRPO) join this list in part 6.</summary>
    public RunKind Kind { get; init; } = RunKind.Pretrain;
    public ModelConfig Model { get; init; } = new();
    /// <summary>Hugging Face tokenizer.json the datasets were prepared with.</summary>
    public string Tokenizer { get; init; } = "";
    public DataConfig Data { get; init; } = new();
    public TrainingConfig Training { get; init; } = new();
}

public enum RunKind
{
    /// <summary>Next-token prediction on the data mixture.</summary>
    Pretrain,
}

public sealed record DataConfig
{
    /// <summary>Prepared dataset folders (manifest.json + shards), each under a name the mixture refers to.</summary>
    public IReadOnlyList<DatasetRef> Datasets { get; init; } = [];
    /// <summary>
    /// Curriculum phases (DBRX): until a fraction of training, sample datasets by these weights. Omitted: every dataset
    /// weighted by its training tokens for the whole run.
    /// </summary>
    public IReadOnlyList<MixturePhaseConfig>? Mixture { get; init; }
    /// <summary>Dataset whose validation split gives the validation loss; the first dataset when omitted.</summary>
    public string? Validation { get; init; }

    /// <summary>The dataset <see cref="Validation"/> names (the first one when it names none).</summary>
    [JsonIgnore]
    public DatasetRef ValidationDataset => Datasets.FirstOrDefault(d => d.Name == (Validation ?? Datasets[0].Name))
        ?? throw new ConfigException("data.validation", $"unknown dataset '{Validation}'");
}

public sealed record DatasetRef(string Name, string Path);

public sealed record MixturePhaseConfig(double Until, IReadOnlyDictionary<string, double> Weights);

/// <summary>Numeric type of weights and activations. Router and norms always stay fp32.</summary>
public enum ComputeDtype
{
    /// <summary>fp32 on CPU, bf16 on CUDA.</summary>
    Auto,
    Float32,
    /// <summary>bf16 weights and activations with an fp32 master copy in the optimiser.</summary>
    Bfloat16,
}

public sealed record TrainingConfig
{
    public long Seed { get; init; } = 1;
    /// <summary>Optimiser steps of the whole run (the schedule's length).</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; init; } = 16;
    public int SeqLen { get; init; } = 128;
    /// <summary>Micro-batches per optimiser step: tokens per step = batch_size x seq_len x grad_accum.</summary>
    public int GradAccum { get; init; } = 1;
    public double Lr { get; init; } = 3e-3;
    /// <summary>The cosine schedule ends here.</summary>
    public double MinLr { get; init; } = 3e-4;
    public int WarmupSteps { get; init; } = 50;
    /// <summary>Decoupled (AdamW); never applied to norms, biases or embeddings.</summary>
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;
    /// <summary>Global gradient-norm clip; 0 disables clipping.</summary>
    public double GradClip { get; init; } = 1.0;
    public int EvalEvery { get; init; } = 100;
    /// <summary>Validation windows per evaluation (fixed, spread evenly over the validation split).</summary>
    public int EvalWindows { get; init; } = 64;
    public int CheckpointEvery { get; init; } = 200;
    /// <summary>Newest checkpoints kept; the best by validation loss is kept as well.</summary>
    public int KeepLast { get; init; } = 2;
    public string Device { get; init; } = "cpu";
    public ComputeDtype Dtype { get; init; } = ComputeDtype.Auto;

    [JsonIgnore] public long TokensPerStep => (long)BatchSize * SeqLen * GradAccum;
}
