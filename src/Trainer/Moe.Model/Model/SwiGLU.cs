using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>SwiGLU feed-forward (Shazeer 2020): W_down(silu(x W_gate) * x W_up); gate and up fused in one matmul.</summary>
public sealed class SwiGLU : nn.Module<Tensor, Tensor>
{
    readonly Linear gate_up;
    readonly Linear down;

    public long Hidden { get; }

    public SwiGLU(long dim, long hidden, double initStd, double outStd) : base(nameof(SwiGLU))
    {
        Hidden = hidden;
        gate_up = nn.Linear(dim, 2 * hidden, hasBias: false);
        down = nn.Linear(hidden, dim, hasBias: false);
        using (no_grad())
        {
            nn.init.normal_(gate_up.weight, 0, initStd);
            nn.init.normal_(down.weight, 0, outStd);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gu = gate_up.forward(x).chunk(2, -1);
        return down.forward(nn.functional.silu(gu[0]) * gu[1]).MoveToOuterDisposeScope();
    }
}

/// <summary>Shared experts every token passes through (DeepSeekMoE, Dai et al. 2024).</summary>
/// <remarks>N shared SwiGLU experts of hidden h sum to one SwiGLU of hidden N x h, so they are computed as one.</remarks>
public sealed class SharedExperts : nn.Module<Tensor, Tensor>
{
    readonly SwiGLU experts;

    public SharedExperts(long dim, int count, long hidden, double initStd, double outStd) : base(nameof(SharedExperts))
    {
        experts = new SwiGLU(dim, count * hidden, initStd, outStd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => experts.forward(x);
}
