using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>Auxiliary losses that keep experts evenly used. Each takes fp32 router outputs for T tokens and E experts.</summary>
public static class BalancingLosses
{
    /// <summary>f_i: share of the T x k routed assignments that chose expert i (before capacity).</summary>
    public static Tensor DispatchFraction(Tensor tokensPerExpert, long assignments) =>
        tokensPerExpert.to(ScalarType.Float32) / assignments;

    /// <summary>Switch Transformer (Fedus 2021): E x sum_i f_i x P_i with P_i the mean router probability; 1 when uniform.</summary>
    public static Tensor SwitchLoss(Tensor dispatchFraction, Tensor probs) =>
        dispatchFraction.shape[0] * (dispatchFraction * probs.mean([0L])).sum();

    /// <summary>Shazeer 2017 importance loss: CV(Importance)^2, Importance_i = sum over tokens of expert i's gate (population variance).</summary>
    public static Tensor ImportanceLoss(Tensor expertIndex, Tensor gates, int experts)
    {
        var importance = zeros(experts, device: gates.device).index_add(0, expertIndex.reshape(-1), gates.reshape(-1), 1.0);
        var mean = importance.mean();
        return (importance - mean).pow(2).mean() / (mean.pow(2) + 1e-10);
    }

    /// <summary>ST-MoE router z-loss (Zoph 2022): mean over tokens of (logsumexp of the logits)^2.</summary>
    public static Tensor ZLoss(Tensor logits) => logits.logsumexp(-1).pow(2).mean();

    /// <summary>
    /// DeepSeek-V2 device-level balance loss with G expert groups standing in for devices:
    /// sum_g (mean_{i in g} E f_i) x (sum_{i in g} P_i); 1 when uniform.
    /// </summary>
    public static Tensor GroupLoss(Tensor dispatchFraction, Tensor probs, int groups)
    {
        long experts = dispatchFraction.shape[0];
        var groupF = (experts * dispatchFraction).view(groups, experts / groups).mean([1L]);
        var groupP = probs.mean([0L]).view(groups, experts / groups).sum(1);
        return (groupF * groupP).sum();
    }

    /// <summary>Mean over tokens of the entropy of the router distribution, in nats.</summary>
    public static Tensor MeanEntropy(Tensor probs) => -(probs * probs.clamp_min(1e-20).log()).sum(-1).mean();
}
