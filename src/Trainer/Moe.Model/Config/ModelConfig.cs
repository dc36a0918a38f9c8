using System.Text.Json.Serialization;

namespace Moe.Model.Config;

/// <summary>Decoder-only transformer whose feed-forward blocks may be Mixture-of-Experts layers.</summary>
/// <remarks>JSON names are snake_case (<c>d_model</c>, <c>moe.top_k</c>); unknown fields are rejected.</remarks>
public sealed record ModelConfig
{
    /// <summary>Free text describing the preset (JSON "_comment").</summary>
    [JsonPropertyName("_comment")] public string? Comment { get; init; }
    public string Name { get; init; } = "model";
    public int VocabSize { get; init; } = 512;
    public int DModel { get; init; } = 128;
    public int NLayers { get; init; } = 4;
    public int NHeads { get; init; } = 4;
    /// <summary>Key/value heads for grouped-query attention (Ainslie 2023); null means NHeads (plain MHA).</summary>
    public int? NKvHeads { get; init; }
    public int MaxSeqLen { get; init; } = 256;
    /// <summary>Hidden size of the dense SwiGLU feed-forward used by non-MoE blocks.</summary>
    public int FfnHidden { get; init; } = 512;
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Mistral-style sliding-window attention span in tokens; null attends to the whole prefix.</summary>
    public int? SlidingWindow { get; init; }
    public bool TieEmbeddings { get; init; } = true;
    public double NormEps { get; init; } = 1e-6;
    public double InitStd { get; init; } = 0.02;
    /// <summary>Null makes every block dense.</summary>
    public MoeConfig? Moe { get; init; }
    public MtpConfig? Mtp { get; init; }

    [JsonIgnore] public int KvHeads => NKvHeads ?? NHeads;
    [JsonIgnore] public int HeadDim => DModel / NHeads;

    /// <summary>Block i is MoE when i is past the first K dense blocks and falls on every P-th position.</summary>
    public bool IsMoeBlock(int block) =>
        Moe is { } m && block >= m.FirstDenseBlocks && (block - m.FirstDenseBlocks) % m.Every == m.Every - 1;
}

public sealed record MoeConfig
{
    public int NumExperts { get; init; } = 8;
    public int TopK { get; init; } = 2;
    /// <summary>Fine-grained experts (DeepSeekMoE) are narrower than the dense FFN: set independently.</summary>
    public int ExpertHidden { get; init; } = 512;
    /// <summary>Shared experts every token passes through (DeepSeekMoE).</summary>
    public int NumSharedExperts { get; init; }
    /// <summary>Hidden size of each shared expert; null means ExpertHidden.</summary>
    public int? SharedExpertHidden { get; init; }
    /// <summary>Every P-th block is MoE (Switch/GShard use 2, OpenMoE 4, Mixtral and DeepSeek 1).</summary>
    public int Every { get; init; } = 1;
    /// <summary>The first K blocks stay dense (DeepSeek-V2/V3).</summary>
    public int FirstDenseBlocks { get; init; }
    /// <summary>How routed experts are computed; both give the same result (see <see cref="ExpertDispatch"/>).</summary>
    public ExpertDispatch Dispatch { get; init; } = ExpertDispatch.Segments;
    public RouterConfig Router { get; init; } = new();
    public CapacityConfig Capacity { get; init; } = new();
    public BalanceConfig Balance { get; init; } = new();

    [JsonIgnore] public int SharedHidden => SharedExpertHidden ?? ExpertHidden;
}

/// <summary>Two batched schemes for the routed experts; never a loop over tokens.</summary>
public enum ExpertDispatch
{
    /// <summary>Kept assignments sorted by expert; one matmul per expert over its contiguous segment. No padding.</summary>
    Segments,
    /// <summary>A padded [E, capacity, d] buffer and one batched matmul (GShard/Switch); padding rows cost compute.</summary>
    Padded,
}

public enum RouterScore { Softmax, Sigmoid }

public enum Gating
{
    /// <summary>Keep the k highest-scoring experts.</summary>
    TopK,
    /// <summary>Shazeer 2017: add trainable Gaussian noise to the logits before choosing (training only).</summary>
    NoisyTopK,
    /// <summary>Jacobs 1991: every expert, weighted by the full score vector; no capacity, no dropping.</summary>
    Soft,
}

public sealed record RouterConfig
{
    public RouterScore Score { get; init; } = RouterScore.Softmax;
    public Gating Gating { get; init; } = Gating.TopK;
    /// <summary>Divide the chosen experts' scores by their sum (Mixtral, DeepSeek-V3); false keeps raw scores (Switch).</summary>
    public bool NormalizeTopK { get; init; } = true;
}

/// <summary>Which assignments lose their slot when an expert overflows.</summary>
public enum DropPolicy
{
    /// <summary>GShard/Switch: first choices before second choices, then earlier tokens first; later ones drop.</summary>
    Position,
    /// <summary>Batch-prioritised routing (Riquelme 2021): highest router score first; least confident drop.</summary>
    Probability,
}

public sealed record CapacityConfig
{
    /// <summary>Capacity = factor x tokens x top_k / experts (ST-MoE trains at 1.25).</summary>
    public double TrainFactor { get; init; } = 1.25;
    /// <summary>ST-MoE evaluates at 2.0.</summary>
    public double EvalFactor { get; init; } = 2.0;
    /// <summary>No capacity limit: no token is ever dropped.</summary>
    public bool Dropless { get; init; }
    public DropPolicy DropPolicy { get; init; } = DropPolicy.Position;
}

public sealed record BalanceConfig
{
    /// <summary>Switch Transformer load-balancing loss E x sum f_i P_i.</summary>
    public double SwitchWeight { get; init; }
    /// <summary>Shazeer 2017 importance loss: squared coefficient of variation of per-expert gate sums.</summary>
    public double ImportanceWeight { get; init; }
    /// <summary>ST-MoE router z-loss: mean squared logsumexp of the router logits.</summary>
    public double ZLossWeight { get; init; }
    /// <summary>DeepSeek-V2 device-level balance loss over expert groups.</summary>
    public double GroupWeight { get; init; }
    public int Groups { get; init; } = 1;
    /// <summary>DeepSeek-V3 auxiliary-loss-free balancing: a selection-only bias nudged by +/- gamma per step.</summary>
    public bool AuxFree { get; init; }
    public double AuxFreeGamma { get; init; } = 0.001;
}

/// <summary>DeepSeek-V3 multi-token prediction: D sequential modules predicting tokens t+2 .. t+D+1.</summary>
public sealed record MtpConfig
{
    public int Depth { get; init; } = 1;
    /// <summary>lambda: the MTP loss is lambda / D x sum of the D cross-entropies.</summary>
    public double Weight { get; init; } = 0.3;
}
