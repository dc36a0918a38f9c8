using Moe.Model.Config;

namespace Moe.Model.Model;

/// <summary>Parameter counts and model FLOPs worked out from the configuration alone (no tensors).</summary>
/// <param name="Total">Every parameter, multi-token-prediction modules included.</param>
/// <param name="TotalInference">Parameters used at inference: MTP modules are skipped there.</param>
/// <param name="ActivePerToken">Parameters one token touches at inference: only its top-k routed experts count.</param>
/// <param name="Embedding">Token embedding table (counted once when tied to the output head).</param>
public sealed record ModelSize(long Total, long TotalInference, long ActivePerToken, long Embedding)
{
    public static ModelSize Of(ModelConfig c)
    {
        long d = c.DModel, embedding = (long)c.VocabSize * d;
        long head = c.TieEmbeddings ? 0 : embedding;
        long main = 0, mainInactive = 0;
        for (var i = 0; i < c.NLayers; i++)
        {
            var (all, inactive) = Block(c, c.IsMoeBlock(i));
            main += all;
            mainInactive += inactive;
        }
        var mtpBlock = Block(c, c.IsMoeBlock(c.NLayers - 1)).All;
        var mtp = (c.Mtp?.Depth ?? 0) * (mtpBlock + 3 * d + 2 * d * d);
        var inference = embedding + main + d + head;
        return new ModelSize(inference + mtp, inference, inference - mainInactive, embedding);
    }

    /// <summary>(all parameters, parameters of routed experts a token does not use).</summary>
    static (long All, long Inactive) Block(ModelConfig c, bool isMoe)
    {
        long d = c.DModel, attn = AttentionWeights(c) + 2 * d;
        if (!isMoe) return (attn + 3 * d * c.FfnHidden, 0);
        var m = c.Moe!;
        long expert = 3 * d * m.ExpertHidden;
        long router = (m.Router.Gating == Gating.NoisyTopK ? 2 : 1) * (long)m.NumExperts * d;
        long shared = 3 * d * m.NumSharedExperts * (long)m.SharedHidden;
        var used = m.Router.Gating == Gating.Soft ? m.NumExperts : m.TopK;
        return (attn + router + shared + m.NumExperts * expert, (m.NumExperts - used) * expert);
    }

    static long AttentionWeights(ModelConfig c) =>
        (long)c.DModel * c.HeadDim * (2L * c.NHeads + 2L * c.KvHeads);

    /// <summary>
    /// Training FLOPs per token (forward + backward) as in PaLM (Chowdhery 2022, app. B): 6 x active matmul weights
    /// + 12 x layers x attention width x context (context capped by the sliding window, causal mask not discounted).
    /// Routed experts count at top-k; padding to capacity is hardware work, not model FLOPs.
    /// </summary>
    public static double TrainingFlopsPerToken(ModelConfig c, int sequenceLength)
    {
        long d = c.DModel, vocabHead = (long)c.VocabSize * d;
        double weights = vocabHead;
        var attentionLayers = c.NLayers;
        for (var i = 0; i < c.NLayers; i++) weights += ActiveMatmulWeights(c, c.IsMoeBlock(i));
        var depth = c.Mtp?.Depth ?? 0;
        weights += depth * (ActiveMatmulWeights(c, c.IsMoeBlock(c.NLayers - 1)) + 2 * d * d + vocabHead);
        attentionLayers += depth;
        var context = Math.Min(sequenceLength, c.SlidingWindow ?? int.MaxValue);
        return 6 * weights + 12.0 * attentionLayers * c.NHeads * c.HeadDim * context;
    }

    static long ActiveMatmulWeights(ModelConfig c, bool isMoe)
    {
        long d = c.DModel;
        if (!isMoe) return AttentionWeights(c) + 3 * d * c.FfnHidden;
        var m = c.Moe!;
        var used = m.Router.Gating == Gating.Soft ? m.NumExperts : m.TopK;
        return AttentionWeights(c) + (long)m.NumExperts * d
            + 3 * d * ((long)used * m.ExpertHidden + (long)m.NumSharedExperts * m.SharedHidden);
    }
}
