using Moe.Model.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>E SwiGLU experts stored as stacked weights, run over the tokens the dispatch plan gives each of them.</summary>
public sealed class RoutedExperts : nn.Module<Tensor, DispatchPlan, Tensor>
{
    readonly Parameter gate_up; // [E, d, 2h]: gate and up projections fused
    readonly Parameter down;    // [E, h, d]
    readonly int experts;
    readonly ExpertDispatch dispatch;

    public long Hidden { get; }

    public RoutedExperts(int experts, long dim, long hidden, double initStd, double outStd, ExpertDispatch dispatch)
        : base(nameof(RoutedExperts))
    {
        this.experts = experts;
        this.dispatch = dispatch;
        Hidden = hidden;
        gate_up = new Parameter(normal(0, initStd, [experts, dim, 2 * hidden]));
        down = new Parameter(normal(0, outStd, [experts, hidden, dim]));
        RegisterComponents();
    }

    /// <summary>x: [T, d] tokens; returns [T, d] = sum over kept assignments of gate x expert(x). Dropped ones add nothing.</summary>
    public override Tensor forward(Tensor x, DispatchPlan plan)
    {
        using var scope = NewDisposeScope();
        var y = dispatch == ExpertDispatch.Padded ? Padded(x, plan) : Segments(x, plan);
        var weighted = y * plan.Gate.to(x.dtype).unsqueeze(1);
        return zeros_like(x).index_add(0, plan.Token, weighted, 1.0).MoveToOuterDisposeScope();
    }

    static Tensor SwiGLU(Tensor x, Tensor gateUp, Tensor down)
    {
        var gu = x.matmul(gateUp).chunk(2, -1);
        return (nn.functional.silu(gu[0]) * gu[1]).matmul(down);
    }

    /// <summary>One matmul per expert over its contiguous run of kept assignments; rows in plan order.</summary>
    Tensor Segments(Tensor x, DispatchPlan plan)
    {
        var rows = x.index_select(0, plan.Token);
        // unbind, not gate_up[e]: its backward stacks the E gradients once instead of E full-size scatters.
        var gateUps = gate_up.unbind(0);
        var downs = down.unbind(0);
        var outputs = new List<Tensor>(experts);
        long start = 0;
        for (var e = 0; e < experts; e++)
        {
            var count = plan.KeptPerExpert[e];
            if (count == 0) continue;
            outputs.Add(SwiGLU(rows.narrow(0, start, count), gateUps[e], downs[e]));
            start += count;
        }
        return outputs.Count == 0 ? zeros_like(rows) : cat(outputs.ToArray(), 0);
    }

    /// <summary>Scatter into a padded [E, capacity, d] buffer (empty slots read a zero row), one bmm, gather back in plan order.</summary>
    Tensor Padded(Tensor x, DispatchPlan plan)
    {
        long tokens = x.shape[0], dim = x.shape[1], slots = experts * plan.Capacity;
        var source = full(slots, tokens, dtype: ScalarType.Int64, device: x.device).scatter_(0, plan.Slot, plan.Token);
        var buffer = cat([x, zeros(1, dim, dtype: x.dtype, device: x.device)], 0)
            .index_select(0, source).view(experts, plan.Capacity, dim);
        return SwiGLU(buffer, gate_up, down).view(slots, dim).index_select(0, plan.Slot);
    }
}
