using Moe.Model.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>What the router decided for T tokens over E experts (all fp32).</summary>
/// <param name="Logits">[T, E] raw router logits (before noise), used by the z-loss.</param>
/// <param name="Probs">[T, E] per-token distribution over experts: softmax scores, or sigmoid scores divided by their sum.</param>
/// <param name="ExpertIndex">[T, k] chosen experts, best first.</param>
/// <param name="Gates">[T, k] weights applied to the chosen experts' outputs.</param>
public sealed record RouterDecision(Tensor Logits, Tensor Probs, Tensor ExpertIndex, Tensor Gates);

/// <summary>Token-choice router: a linear map to expert scores, then top-k, noisy top-k or soft gating; all math in fp32.</summary>
public sealed class Router : nn.Module<Tensor, RouterDecision>
{
    readonly Parameter weight;        // [E, d]
    readonly Parameter? noise_weight; // [E, d], Shazeer 2017 W_noise, zero-initialised
    readonly Tensor? expert_bias;     // [E], DeepSeek-V3 selection-only bias (a buffer: never trained by gradients)
    readonly RouterConfig cfg;
    readonly int experts, topK;

    public Router(long dim, MoeConfig m, double initStd) : base(nameof(Router))
    {
        cfg = m.Router;
        experts = m.NumExperts;
        topK = cfg.Gating == Gating.Soft ? m.NumExperts : m.TopK;
        weight = new Parameter(normal(0, initStd, [experts, dim]));
        if (cfg.Gating == Gating.NoisyTopK) noise_weight = new Parameter(zeros(experts, dim));
        if (m.Balance.AuxFree) expert_bias = zeros(experts);
        RegisterComponents();
    }

    public int TopK => topK;
    public Tensor? Bias => expert_bias;

    public override RouterDecision forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var logits = nn.functional.linear(x32, weight.to(ScalarType.Float32));
        var chosenLogits = logits;
        if (noise_weight is not null && training)
        {
            // H(x) = x W_g + N(0,1) * softplus(x W_noise)
            var noiseStd = nn.functional.softplus(nn.functional.linear(x32, noise_weight.to(ScalarType.Float32)));
            chosenLogits = logits + randn_like(logits) * noiseStd;
        }

        var scores = cfg.Score == RouterScore.Softmax ? chosenLogits.softmax(-1) : chosenLogits.sigmoid();
        var probs = cfg.Score == RouterScore.Softmax ? scores : scores / scores.sum(-1, keepdim: true);

        Tensor index, gates;
        if (cfg.Gating == Gating.Soft)
        {
            index = arange(experts, device: x.device).expand(x.shape[0], experts);
            gates = scores;
        }
        else
        {
            // The aux-free bias shifts which experts are chosen, never how much they weigh.
            var selection = expert_bias is null ? scores : scores + expert_bias.to(ScalarType.Float32);
            index = selection.topk(topK, dim: -1).indexes;
            gates = scores.gather(-1, index);
        }
        if (cfg.NormalizeTopK) gates = gates / gates.sum(-1, keepdim: true);

        return Keep(new RouterDecision(logits, probs, index, gates));
    }

    static RouterDecision Keep(RouterDecision d)
    {
        foreach (var t in new[] { d.Logits, d.Probs, d.ExpertIndex, d.Gates }) t.MoveToOuterDisposeScope();
        return d;
    }

    /// <summary>DeepSeek-V3 update after a step: b_i += gamma x sign(mean load - load_i).</summary>
    public void UpdateBias(IReadOnlyList<long> tokensPerExpert, double gamma)
    {
        if (expert_bias is null) return;
        var mean = tokensPerExpert.Average();
        var step = tokensPerExpert.Select(c => (float)(gamma * Math.Sign(mean - c))).ToArray();
        using var no = no_grad();
        using var delta = tensor(step, device: expert_bias.device);
        expert_bias.add_(delta);
    }
}
