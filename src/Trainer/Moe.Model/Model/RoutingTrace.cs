using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>
/// One MoE layer's routing in one forward pass, copied to the host. Row r is flattened token r (batch-major, then
/// sequence position), as the layer sees its input.
/// </summary>
/// <param name="Layer">Block index, as in <see cref="RouterStats.Layer"/>.</param>
/// <param name="TopK">Experts per token (all E for soft gating).</param>
/// <param name="Experts">[T x k] row-major: the chosen experts of each token, best first.</param>
/// <param name="Kept">[T x k] row-major: whether that assignment got a capacity slot (false = dropped).</param>
/// <param name="Entropy">[T] entropy (nats) of each token's router distribution.</param>
public sealed record LayerRouting(int Layer, int TopK, int[] Experts, bool[] Kept, float[] Entropy)
{
    public int Tokens => Entropy.Length;
}

/// <summary>
/// Records what the routers of a model decide, per token, for analysis (which experts, which assignments dropped).
/// Attaching sets a tap on every MoE layer; disposing removes it. A layer without a tap does no extra work, and a tap
/// only reads the router's decision and the dispatch plan, so outputs are the same with or without it.
/// </summary>
public sealed class RoutingTrace : IDisposable
{
    readonly List<MoELayer> attached = [];
    readonly List<LayerRouting> recorded = [];

    RoutingTrace() { }

    /// <summary>Starts recording every MoE layer of <paramref name="model"/> (MTP layers too, when a forward runs them).</summary>
    public static RoutingTrace Attach(MoeTransformer model)
    {
        var trace = new RoutingTrace();
        foreach (var (layer, moe) in model.MoeLayers)
        {
            if (moe.Trace is not null)
            {
                trace.Dispose();
                throw new InvalidOperationException($"MoE layer {layer} is already being traced");
            }
            moe.Trace = new LayerTap(trace, layer);
            trace.attached.Add(moe);
        }
        return trace;
    }

    /// <summary>The layers recorded since the last call, in the order they ran; the trace forgets them.</summary>
    public IReadOnlyList<LayerRouting> Take()
    {
        var taken = recorded.ToList();
        recorded.Clear();
        return taken;
    }

    public void Dispose()
    {
        foreach (var moe in attached) moe.Trace = null;
        attached.Clear();
    }

    /// <summary>The hook one layer calls after planning its dispatch.</summary>
    internal sealed class LayerTap(RoutingTrace trace, int layer)
    {
        public void Record(RouterDecision route, DispatchPlan plan)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            long tokens = route.ExpertIndex.shape[0], experts = route.Probs.shape[1];
            var k = (int)route.ExpertIndex.shape[1];
            // The plan lists kept assignments as (token, slot) with slot = expert x capacity + position.
            var keptExpert = plan.Slot.div(plan.Capacity, rounding_mode: RoundingMode.floor);
            var keptPairs = zeros(tokens * experts, device: route.Probs.device)
                .index_fill_(0, plan.Token * experts + keptExpert, 1.0).view(tokens, experts);
            var kept = keptPairs.gather(1, route.ExpertIndex) > 0;
            var entropy = -(route.Probs * route.Probs.clamp_min(1e-20).log()).sum(-1);
            trace.recorded.Add(new LayerRouting(layer, k,
                route.ExpertIndex.to(ScalarType.Int32).cpu().data<int>().ToArray(),
                kept.cpu().data<bool>().ToArray(),
                entropy.to(ScalarType.Float32).cpu().data<float>().ToArray()));
        }
    }
}
