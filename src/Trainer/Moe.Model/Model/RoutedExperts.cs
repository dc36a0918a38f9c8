using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>E SwiGLU experts stored as stacked weights and run as batched matmuls over a padded [E, capacity, d] buffer.</summary>
public sealed class RoutedExperts : nn.Module<Tensor, DispatchPlan, Tensor>
{
    readonly Parameter gate_up; // [E, d, 2h]: gate and up projections fused
    readonly Parameter down;    // [E, h, d]
    readonly int experts;

    public long Hidden { get; }

    public RoutedExperts(int experts, long dim, long hidden, double initStd, double outStd) : base(nameof(RoutedExperts))
    {
        this.experts = experts;
        Hidden = hidden;
        gate_up = new Parameter(normal(0, initStd, [experts, dim, 2 * hidden]));
        down = new Parameter(normal(0, outStd, [experts, hidden, dim]));
        RegisterComponents();
    }

    /// <summary>x: [T, d] tokens; returns [T, d] = sum over kept assignments of gate x expert(x). Dropped ones add nothing.</summary>
    public override Tensor forward(Tensor x, DispatchPlan plan)
    {
        using var scope = NewDisposeScope();
        long tokens = x.shape[0], dim = x.shape[1], slots = experts * plan.Capacity;

        // Gather tokens into their slots; empty slots read an appended zero row (index = tokens).
        var source = full(slots, tokens, dtype: ScalarType.Int64, device: x.device).scatter_(0, plan.Slot, plan.Token);
        var buffer = cat([x, zeros(1, dim, dtype: x.dtype, device: x.device)], 0)
            .index_select(0, source).view(experts, plan.Capacity, dim);

        var gu = buffer.bmm(gate_up).chunk(2, -1);
        var y = (nn.functional.silu(gu[0]) * gu[1]).bmm(down).view(slots, dim);

        var weighted = y.index_select(0, plan.Slot) * plan.Gate.to(x.dtype).unsqueeze(1);
        return zeros_like(x).index_add(0, plan.Token, weighted, 1.0).MoveToOuterDisposeScope();
    }
}
