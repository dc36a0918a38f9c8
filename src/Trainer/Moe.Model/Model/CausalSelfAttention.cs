using Moe.Model.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>What a block needs besides its input: where the sequence starts (for RoPE). Later parts add a KV cache and modality ids.</summary>
public sealed record BlockContext(long PositionOffset = 0)
{
    public static readonly BlockContext Start = new();
}

/// <summary>Causal multi-head self-attention with grouped-query attention (Ainslie 2023) and an optional sliding window (Mistral 7B).</summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, BlockContext, Tensor>
{
    readonly Linear wq, wk, wv, wo;
    readonly int heads, kvHeads, headDim;
    readonly int? window;
    readonly RotaryEmbedding rope;

    public CausalSelfAttention(ModelConfig c, RotaryEmbedding rope, double outStd) : base(nameof(CausalSelfAttention))
    {
        heads = c.NHeads;
        kvHeads = c.KvHeads;
        headDim = c.HeadDim;
        window = c.SlidingWindow;
        this.rope = rope;
        wq = nn.Linear(c.DModel, heads * headDim, hasBias: false);
        wk = nn.Linear(c.DModel, kvHeads * headDim, hasBias: false);
        wv = nn.Linear(c.DModel, kvHeads * headDim, hasBias: false);
        wo = nn.Linear(heads * headDim, c.DModel, hasBias: false);
        using (no_grad())
        {
            foreach (var l in new[] { wq, wk, wv }) nn.init.normal_(l.weight, 0, c.InitStd);
            nn.init.normal_(wo.weight, 0, outStd);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, BlockContext ctx)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = rope.Apply(wq.forward(x).view(b, t, heads, headDim).transpose(1, 2), ctx.PositionOffset);
        var k = rope.Apply(wk.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2), ctx.PositionOffset);
        var v = wv.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);
        if (kvHeads != heads)
        {
            // Each group of heads/kvHeads query heads reads one key/value head.
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var y = window is { } w && w < t
            ? nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: SlidingWindowMask(t, w, x.device))
            : nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return wo.forward(y.transpose(1, 2).reshape(b, t, heads * headDim)).MoveToOuterDisposeScope();
    }

    /// <summary>True where query i may attend key j: j &lt;= i and i - j &lt; window.</summary>
    public static Tensor SlidingWindowMask(long length, int window, Device device)
    {
        var i = arange(length, device: device).unsqueeze(1);
        var j = arange(length, device: device).unsqueeze(0);
        return (j <= i).logical_and(i - j < window);
    }
}
