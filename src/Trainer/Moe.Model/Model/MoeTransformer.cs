using TorchSharp;
using Moe.Model.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>Result of a forward pass. Losses are null without targets; MtpLoss is null without MTP or without targets.</summary>
public sealed record ModelOutput(
    Tensor Logits, Tensor? Loss, Tensor? LmLoss, Tensor? AuxLoss, Tensor? MtpLoss, IReadOnlyList<RouterStats> RouterStats)
{
    internal ModelOutput MoveToOuterDisposeScope()
    {
        foreach (var t in new[] { Logits, Loss, LmLoss, AuxLoss, MtpLoss }) t?.MoveToOuterDisposeScope();
        return this;
    }
}

/// <summary>Decoder-only transformer: embeddings, N pre-norm blocks (dense or MoE), final RMSNorm, output head, optional MTP.</summary>
public sealed class MoeTransformer : nn.Module<Tensor, Tensor>
{
    readonly Embedding tok_embeddings;
    readonly ModuleList<TransformerBlock> blocks;
    readonly RMSNorm final_norm;
    readonly Linear? output;
    readonly ModuleList<MultiTokenPredictionModule> mtp;

    public ModelConfig Config { get; }

    public MoeTransformer(ModelConfig config) : base(nameof(MoeTransformer))
    {
        ConfigValidator.ThrowIfInvalid(config);
        Config = config;
        var rope = new RotaryEmbedding(config.HeadDim, config.MaxSeqLen, config.RopeTheta);
        tok_embeddings = nn.Embedding(config.VocabSize, config.DModel);
        using (no_grad()) nn.init.normal_(tok_embeddings.weight!, 0, config.InitStd);
        blocks = new ModuleList<TransformerBlock>(
            Enumerable.Range(0, config.NLayers).Select(i => new TransformerBlock(config, config.IsMoeBlock(i), rope)).ToArray());
        final_norm = new RMSNorm(config.DModel, config.NormEps);
        if (!config.TieEmbeddings)
        {
            output = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
            using (no_grad()) nn.init.normal_(output.weight, 0, config.InitStd);
        }
        // DeepSeek-V3's MTP blocks are built like the main model's last block.
        var mtpIsMoe = config.IsMoeBlock(config.NLayers - 1);
        mtp = new ModuleList<MultiTokenPredictionModule>(
            Enumerable.Range(0, config.Mtp?.Depth ?? 0).Select(_ => new MultiTokenPredictionModule(config, mtpIsMoe, rope)).ToArray());
        RegisterComponents();
    }

    /// <summary>MoE layers in stats order: main blocks, then MTP blocks.</summary>
    public IEnumerable<(int Layer, MoELayer Moe)> MoeLayers =>
        blocks.Select((b, i) => (i, b.Moe)).Concat(mtp.Select((m, d) => (Config.NLayers + d, m.Block.Moe)))
            .Where(p => p.Item2 is not null).Select(p => (p.Item1, p.Item2!));

    /// <summary>Inference logits [B, T, V]; multi-token prediction is skipped.</summary>
    public override Tensor forward(Tensor tokens) => Forward(tokens).Logits;

    /// <param name="tokens">[B, T] input ids.</param>
    /// <param name="targets">[B, T] next-token ids; enables the losses (and MTP).</param>
    public ModelOutput Forward(Tensor tokens, Tensor? targets = null, BlockContext? context = null)
    {
        using var scope = NewDisposeScope();
        var ctx = context ?? BlockContext.Start;
        var embeddings = tok_embeddings.forward(tokens);
        var h = embeddings;
        var aux = new List<(int Layer, MoeAux Aux)>();
        for (var i = 0; i < blocks.Count; i++)
        {
            var (next, moe) = blocks[i].forward(h, ctx);
            h = next;
            if (moe is not null) aux.Add((i, moe));
        }
        var logits = Head(final_norm.forward(h));

        Tensor? loss = null, lmLoss = null, auxLoss = null, mtpLoss = null;
        if (targets is not null)
        {
            lmLoss = CrossEntropy(logits, targets);
            if (mtp.Count > 0) mtpLoss = MultiTokenLoss(h, embeddings, targets, aux);
            auxLoss = aux.Count == 0 ? zeros(1, device: tokens.device).squeeze() : stack(aux.Select(a => a.Aux.AuxLoss).ToArray()).sum();
            loss = lmLoss + auxLoss;
            if (mtpLoss is not null) loss = loss + mtpLoss;
        }
        return new ModelOutput(logits, loss, lmLoss, auxLoss, mtpLoss, CollectStats(aux)).MoveToOuterDisposeScope();
    }

    /// <summary>L_MTP = lambda / D x sum_k CE(module k's prediction of t_{i+k+1}), over the depths the sequence length allows.</summary>
    Tensor MultiTokenLoss(Tensor h, Tensor embeddings, Tensor targets, List<(int, MoeAux)> aux)
    {
        long length = h.shape[1];
        var losses = new List<Tensor>();
        var previous = h;
        for (var k = 1; k <= mtp.Count && k < length; k++)
        {
            var module = mtp[k - 1];
            var span = length - k;
            var (hk, moe) = module.forward(previous.narrow(1, 0, span), embeddings.narrow(1, k, span));
            if (moe is not null) aux.Add((Config.NLayers + k - 1, moe));
            losses.Add(CrossEntropy(Head(module.Normalize(hk)), targets.narrow(1, k, span)));
            previous = hk;
        }
        // A sequence shorter than D + 1 leaves the deeper modules nothing to predict: average over the depths that ran.
        if (losses.Count == 0) return zeros(1, device: h.device).squeeze();
        return Config.Mtp!.Weight / losses.Count * stack(losses.ToArray()).sum();
    }

    Tensor Head(Tensor normalized) =>
        output is null ? nn.functional.linear(normalized, tok_embeddings.weight!) : output.forward(normalized);

    static Tensor CrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32), targets.reshape(-1));

    IReadOnlyList<RouterStats> CollectStats(List<(int Layer, MoeAux Aux)> aux)
    {
        if (aux.Count == 0) return [];
        var experts = Config.Moe!.NumExperts;
        var width = RouterStats.PackedLength(experts);
        using var packed = cat(aux.Select(a => a.Aux.Stats).ToArray()).cpu();
        var values = packed.data<float>().ToArray();
        var layers = MoeLayers.ToDictionary(l => l.Layer, l => l.Moe);
        return aux.Select((a, i) => RouterStats.Unpack(a.Layer, values.AsSpan(i * width, width), experts,
            layers[a.Layer].Router.Bias is { } b ? b.cpu().data<float>().ToArray() : null)).ToList();
    }

    /// <summary>DeepSeek-V3 aux-loss-free balancing: after each optimiser step, move each layer's bias toward balance.</summary>
    public void UpdateAuxFreeBiases(IReadOnlyList<RouterStats> stats)
    {
        var balance = Config.Moe?.Balance;
        if (balance is not { AuxFree: true }) return;
        var layers = MoeLayers.ToDictionary(l => l.Layer, l => l.Moe);
        foreach (var s in stats) layers[s.Layer].Router.UpdateBias(s.TokensPerExpert, balance.AuxFreeGamma);
    }

    /// <summary>bf16 (or fp16) compute with router and norms kept in fp32, as DeepSeek-V3 trains them.</summary>
    public MoeTransformer ToComputeDtype(ScalarType dtype)
    {
        this.to(dtype);
        foreach (var (_, m) in named_modules())
            if (m is RMSNorm or Router) m.to(ScalarType.Float32);
        return this;
    }
}
