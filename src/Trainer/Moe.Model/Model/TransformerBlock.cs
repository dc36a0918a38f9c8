using Moe.Model.Config;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>Pre-norm decoder block: h = x + Attn(RMSNorm(x)); out = h + FFN(RMSNorm(h)), FFN dense SwiGLU or MoE.</summary>
public sealed class TransformerBlock : nn.Module<Tensor, BlockContext, (Tensor Output, MoeAux? Moe)>
{
    readonly RMSNorm attn_norm, ffn_norm;
    readonly CausalSelfAttention attn;
    readonly SwiGLU? ffn;
    readonly MoELayer? moe;

    public TransformerBlock(ModelConfig c, bool isMoe, RotaryEmbedding rope) : base(nameof(TransformerBlock))
    {
        // GPT-2: residual output projections scaled by 1/sqrt(2 x layers).
        var outStd = c.InitStd / Math.Sqrt(2.0 * c.NLayers);
        attn_norm = new RMSNorm(c.DModel, c.NormEps);
        ffn_norm = new RMSNorm(c.DModel, c.NormEps);
        attn = new CausalSelfAttention(c, rope, outStd);
        if (isMoe) moe = new MoELayer(c.DModel, c.Moe!, c.InitStd, outStd);
        else ffn = new SwiGLU(c.DModel, c.FfnHidden, c.InitStd, outStd);
        RegisterComponents();
    }

    public MoELayer? Moe => moe;

    public override (Tensor Output, MoeAux? Moe) forward(Tensor x, BlockContext ctx)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.forward(attn_norm.forward(x), ctx);
        if (moe is null) return ((h + ffn!.forward(ffn_norm.forward(h))).MoveToOuterDisposeScope(), null);

        var (y, aux) = moe.forward(ffn_norm.forward(h));
        return ((h + y).MoveToOuterDisposeScope(), aux.MoveToOuterDisposeScope());
    }
}
