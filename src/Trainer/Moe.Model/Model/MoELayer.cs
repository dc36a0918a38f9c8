using Moe.Model.Config;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>What an MoE layer reports besides its output.</summary>
/// <param name="AuxLoss">Weighted sum of the enabled balancing losses (scalar).</param>
/// <param name="Stats">Detached fp32 vector: tokens per expert, then dropped, assignments, entropy, switch, importance, z, group, capacity.</param>
public sealed record MoeAux(Tensor AuxLoss, Tensor Stats)
{
    internal MoeAux MoveToOuterDisposeScope()
    {
        AuxLoss.MoveToOuterDisposeScope();
        Stats.MoveToOuterDisposeScope();
        return this;
    }
}

/// <summary>
/// Sparsely-gated Mixture-of-Experts feed-forward (Shazeer 2017; GShard; Switch; DeepSeekMoE):
/// a router picks experts per token, experts run as batched matmuls within a capacity, shared experts see every token.
/// </summary>
public sealed class MoELayer : nn.Module<Tensor, (Tensor Output, MoeAux Aux)>
{
    readonly Router router;
    readonly RoutedExperts experts;
    readonly SharedExperts? shared_experts;
    readonly MoeConfig cfg;

    public MoELayer(long dim, MoeConfig m, double initStd, double outStd) : base(nameof(MoELayer))
    {
        cfg = m;
        router = new Router(dim, m, initStd);
        experts = new RoutedExperts(m.NumExperts, dim, m.ExpertHidden, initStd, outStd, m.Dispatch);
        if (m.NumSharedExperts > 0) shared_experts = new SharedExperts(dim, m.NumSharedExperts, m.SharedHidden, initStd, outStd);
        RegisterComponents();
    }

    public Router Router => router;

    /// <summary>
    /// Forces the training (true) or evaluation (false) capacity factor whatever the module's mode; null (the default)
    /// follows the mode. Routing analysis sets it to see training's drops without training's router noise.
    /// </summary>
    public bool? TrainCapacity { get; set; }

    /// <summary>Where a <see cref="RoutingTrace"/> records this layer's routing; null (the default) records nothing.</summary>
    internal RoutingTrace.LayerTap? Trace { get; set; }

    /// <summary>Capacity in force: none for soft gating or dropless, else the train or eval factor.</summary>
    long? CapacityFor(long tokens)
    {
        if (cfg.Capacity.Dropless || cfg.Router.Gating == Gating.Soft) return null;
        var factor = (TrainCapacity ?? training) ? cfg.Capacity.TrainFactor : cfg.Capacity.EvalFactor;
        return ExpertCapacity.Slots(factor, tokens, router.TopK, cfg.NumExperts);
    }

    /// <summary>x: [B, T, d]. Output: routed (plus shared) expert output; a dropped token gets only its shared experts' output.</summary>
    public override (Tensor Output, MoeAux Aux) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        var flat = x.reshape(-1, shape[^1]);
        long tokens = flat.shape[0];

        var route = router.forward(flat);
        var plan = ExpertCapacity.Plan(route.ExpertIndex, route.Gates, cfg.NumExperts, CapacityFor(tokens), cfg.Capacity.DropPolicy);
        Trace?.Record(route, plan);
        var y = experts.forward(flat, plan);
        if (shared_experts is not null) y = y + shared_experts.forward(flat);

        var assignments = tokens * router.TopK;
        var f = BalancingLosses.DispatchFraction(plan.TokensPerExpert, assignments);
        var b = cfg.Balance;
        var switchLoss = BalancingLosses.SwitchLoss(f, route.Probs);
        var importance = BalancingLosses.ImportanceLoss(route.ExpertIndex, route.Gates, cfg.NumExperts);
        var zLoss = BalancingLosses.ZLoss(route.Logits);
        var groupLoss = BalancingLosses.GroupLoss(f, route.Probs, b.Groups);
        var aux = zeros(1, device: x.device).squeeze();
        if (b.SwitchWeight > 0) aux = aux + b.SwitchWeight * switchLoss;
        if (b.ImportanceWeight > 0) aux = aux + b.ImportanceWeight * importance;
        if (b.ZLossWeight > 0) aux = aux + b.ZLossWeight * zLoss;
        if (b.GroupWeight > 0) aux = aux + b.GroupWeight * groupLoss;

        Tensor stats;
        using (no_grad())
        {
            var scalars = stack([
                tensor((float)plan.Dropped, device: x.device), tensor((float)assignments, device: x.device),
                BalancingLosses.MeanEntropy(route.Probs), switchLoss, importance, zLoss, groupLoss,
                tensor((float)plan.Capacity, device: x.device)]);
            stats = cat([plan.TokensPerExpert.to(ScalarType.Float32), scalars.to(ScalarType.Float32)]).detach();
        }
        return (y.view(shape).MoveToOuterDisposeScope(), new MoeAux(aux, stats).MoveToOuterDisposeScope());
    }
}
