using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>Root-mean-square layer norm (Zhang &amp; Sennrich 2019): no mean subtraction, no bias; computed in fp32.</summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    readonly double eps;
    readonly Parameter weight;

    public RMSNorm(long dim, double eps) : base(nameof(RMSNorm))
    {
        this.eps = eps;
        weight = new Parameter(ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var normed = x32 * rsqrt(x32.pow(2).mean([-1L], keepdim: true) + eps);
        return (normed * weight.to(ScalarType.Float32)).to(x.dtype).MoveToOuterDisposeScope();
    }
}
