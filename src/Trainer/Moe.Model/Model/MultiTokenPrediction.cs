using Moe.Model.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>
/// One DeepSeek-V3 multi-token-prediction module (depth k): h^k_i = Block(M_k [RMSNorm(h^{k-1}_i); RMSNorm(Emb(t_{i+k}))]),
/// then its own final norm and the shared output head predict t_{i+k+1}.
/// </summary>
public sealed class MultiTokenPredictionModule : nn.Module<Tensor, Tensor, (Tensor Hidden, MoeAux? Moe)>
{
    readonly RMSNorm hidden_norm, embed_norm, final_norm;
    readonly Linear proj;
    readonly TransformerBlock block;

    public MultiTokenPredictionModule(ModelConfig c, bool isMoe, RotaryEmbedding rope) : base(nameof(MultiTokenPredictionModule))
    {
        hidden_norm = new RMSNorm(c.DModel, c.NormEps);
        embed_norm = new RMSNorm(c.DModel, c.NormEps);
        final_norm = new RMSNorm(c.DModel, c.NormEps);
        proj = nn.Linear(2 * c.DModel, c.DModel, hasBias: false);
        using (no_grad()) nn.init.normal_(proj.weight, 0, c.InitStd);
        block = new TransformerBlock(c, isMoe, rope);
        RegisterComponents();
    }

    public TransformerBlock Block => block;

    /// <param name="previous">[B, L, d] hidden states h^{k-1} at positions 0..L-1.</param>
    /// <param name="nextEmbeddings">[B, L, d] embeddings of tokens t_{i+k}.</param>
    public override (Tensor Hidden, MoeAux? Moe) forward(Tensor previous, Tensor nextEmbeddings)
    {
        using var scope = NewDisposeScope();
        var merged = proj.forward(cat([hidden_norm.forward(previous), embed_norm.forward(nextEmbeddings)], -1));
        var (h, moe) = block.forward(merged, BlockContext.Start);
        return (h.MoveToOuterDisposeScope(), moe?.MoveToOuterDisposeScope());
    }

    public Tensor Normalize(Tensor hidden) => final_norm.forward(hidden);
}
