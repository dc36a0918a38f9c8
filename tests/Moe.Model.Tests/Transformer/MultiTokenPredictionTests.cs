using TorchSharp.Modules;
using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

public class MultiTokenPredictionTests
{
    const int V = 32, B = 2, T = 7;

    /// <summary>Two MoE blocks (so the MTP blocks, built like the last block, are MoE too), MTP depth 2, lambda 0.5, some aux loss.</summary>
    static MoeTransformer Model(params string[] extra) => new(Tiny(
        ["mtp={\"depth\":2,\"weight\":0.5}", "moe.balance={\"switch_weight\":0.01,\"z_loss_weight\":0.001}", .. extra]));

    /// <summary>A sequence s_0..s_T: tokens = s_0..s_{T-1}, targets = s_1..s_T (targets[i] is the token after tokens[i]).</summary>
    static (Tensor Tokens, Tensor Targets) Batch()
    {
        var seq = randint(V, [B, T + 1]);
        return (seq.narrow(1, 0, T), seq.narrow(1, 1, T));
    }

    [Fact]
    public void MtpLossIsLambdaOverDTimesTheSumOfPerDepthCrossEntropies()
    {
        manual_seed(30);
        var model = Model();
        using var scope = NewDisposeScope();
        using var no = no_grad();
        var (tokens, targets) = Batch();
        var output = model.Forward(tokens, targets);

        // Recompute from the model's own pieces (DeepSeek-V3 section 2.2):
        //   h^0 = main trunk output (before the final norm); logits^0 = E^T final_norm(h^0)  (tied head)
        //   depth k at position i: h^k_i = MTP_k(h^{k-1}_i, Emb(t_{i+k})), predicting t_{i+k+1} = targets[i+k],
        //   for i = 0 .. T-k-1 (T-k positions).
        //   L_MTP = lambda / D x (CE_1 + CE_2).
        var emb = Param(model, "tok_embeddings.weight");
        var h = emb.index_select(0, tokens.reshape(-1)).view(B, T, -1);
        var embeddings = h;
        for (var i = 0; i < 2; i++) h = Child<TransformerBlock>(model, $"blocks.{i}").forward(h, BlockContext.Start).Output;
        var logits0 = nn.functional.linear(Child<RMSNorm>(model, "final_norm").forward(h), emb);
        Assert.True(MaxAbsDiff(logits0, output.Logits) < 1e-6);
        var lm = CrossEntropy(Floats(logits0), V, Longs(targets));
        Assert.Equal(lm, Scalar(output.LmLoss!), 1e-5);

        var previous = h;
        var perDepth = new List<double>();
        var tgt = Longs(targets);
        for (var k = 1; k <= 2; k++)
        {
            var module = Child<MultiTokenPredictionModule>(model, $"mtp.{k - 1}");
            var span = T - k;
            var (hk, _) = module.forward(previous.narrow(1, 0, span), embeddings.narrow(1, k, span));
            var logits = nn.functional.linear(module.Normalize(hk), emb);
            Assert.Equal(new long[] { B, span, V }, logits.shape);
            var wanted = new List<long>();
            for (var b = 0; b < B; b++)
                for (var i = 0; i < span; i++) wanted.Add(tgt[b * T + i + k]); // t_{i+k+1}
            perDepth.Add(CrossEntropy(Floats(logits), V, wanted));
            previous = hk;
        }
        var expected = 0.5 / 2 * (perDepth[0] + perDepth[1]);
        Assert.NotNull(output.MtpLoss);
        Assert.Equal(expected, Scalar(output.MtpLoss!), 1e-5);
        // Untrained with vocabulary 32 each CE is near ln 32 = 3.47, so L_MTP is near 0.25 x 6.9 = 1.7.
        Assert.InRange(Scalar(output.MtpLoss!), 1.0, 2.5);
    }

    [Fact]
    public void TotalLossIsLmPlusAuxPlusMtp()
    {
        manual_seed(31);
        var model = Model();
        using var scope = NewDisposeScope();
        var (tokens, targets) = Batch();
        var o = model.Forward(tokens, targets);
        Assert.True(Scalar(o.AuxLoss!) > 0, "the switch and z losses are on: aux loss must be positive");
        Assert.Equal(Scalar(o.LmLoss!) + Scalar(o.AuxLoss!) + Scalar(o.MtpLoss!), Scalar(o.Loss!), 1e-6);
    }

    [Fact]
    public void ZeroWeightGivesZeroMtpLoss()
    {
        manual_seed(32);
        var model = Model("mtp.weight=0");
        using var scope = NewDisposeScope();
        var (tokens, targets) = Batch();
        var o = model.Forward(tokens, targets);
        Assert.NotNull(o.MtpLoss);
        Assert.Equal(0.0, Scalar(o.MtpLoss!));
        Assert.Equal(Scalar(o.LmLoss!) + Scalar(o.AuxLoss!), Scalar(o.Loss!), 1e-6);
    }

    [Fact]
    public void NoMtpLossWithoutTargetsOrWithoutMtp()
    {
        manual_seed(33);
        var model = Model();
        var plain = new MoeTransformer(Tiny());
        using var scope = NewDisposeScope();
        var (tokens, targets) = Batch();

        // Inference: logits [B, T, V], no losses, and the MTP modules never run (stats only for blocks 0 and 1).
        var inference = model.Forward(tokens);
        Assert.Equal(new long[] { B, T, V }, inference.Logits.shape);
        Assert.Null(inference.Loss);
        Assert.Null(inference.LmLoss);
        Assert.Null(inference.AuxLoss);
        Assert.Null(inference.MtpLoss);
        Assert.Equal(new[] { 0, 1 }, inference.RouterStats.Select(s => s.Layer).ToArray());
        Assert.Equal(new long[] { B, T, V }, model.forward(tokens).shape);

        var noMtp = plain.Forward(tokens, targets);
        Assert.Null(noMtp.MtpLoss);
        Assert.NotNull(noMtp.Loss);
        Assert.Equal(Scalar(noMtp.LmLoss!) + Scalar(noMtp.AuxLoss!), Scalar(noMtp.Loss!), 1e-6);
        Assert.Equal(new[] { 0, 1 }, noMtp.RouterStats.Select(s => s.Layer).ToArray());
    }

    [Fact]
    public void RouterStatsNumberMtpBlocksAfterTheMainBlocksAndDepthKSeesTMinusKPositions()
    {
        manual_seed(34);
        var model = Model();
        using var scope = NewDisposeScope();
        var (tokens, targets) = Batch();
        var stats = model.Forward(tokens, targets).RouterStats;
        // Main blocks 0, 1 then MTP depths 1, 2 as layers n_layers + 0, n_layers + 1 = 2, 3.
        Assert.Equal(new[] { 0, 1, 2, 3 }, stats.Select(s => s.Layer).ToArray());
        // Top-2 routing assigns 2 experts per token: B x positions x 2 assignments per layer.
        // Main blocks see T = 7 positions (2 x 7 x 2 = 28); depth 1 sees T-1 = 6 (24); depth 2 sees T-2 = 5 (20).
        Assert.Equal(new long[] { 28, 28, 24, 20 }, stats.Select(s => s.TokensPerExpert.Sum()).ToArray());
    }

    [Fact]
    public void EachDepthPredictsTheTokenKPlusOneAhead()
    {
        manual_seed(35);
        var model = Model();
        using var scope = NewDisposeScope();
        using var no = no_grad();
        var (tokens, targets) = Batch();
        var baseline = model.Forward(tokens, targets);

        // targets[:, 0] is only the main model's target (MTP depth k reads targets[k..]): MTP loss is unchanged.
        var t0 = targets.clone();
        t0[.., 0] = (targets[.., 0] + 1) % V;
        var o0 = model.Forward(tokens, t0);
        Assert.Equal(Scalar(baseline.MtpLoss!), Scalar(o0.MtpLoss!), 1e-7);
        Assert.True(Math.Abs(Scalar(baseline.LmLoss!) - Scalar(o0.LmLoss!)) > 1e-5);

        // targets[:, 1] is depth 1's first target (position 0 predicts t_2): MTP loss changes.
        var t1 = targets.clone();
        t1[.., 1] = (targets[.., 1] + 1) % V;
        Assert.True(Math.Abs(Scalar(baseline.MtpLoss!) - Scalar(model.Forward(tokens, t1).MtpLoss!)) > 1e-5);

        // The targets steer only the losses, never the logits.
        Assert.True(MaxAbsDiff(baseline.Logits, o0.Logits) == 0);
    }

    /// <summary>With T = 1 no MTP depth has a token to predict: the MTP term is zero and the loss is LM + aux.</summary>
    [Fact]
    public void OneTokenSequenceWithMtpHasNoMtpTerm()
    {
        manual_seed(37);
        var model = Model();
        using var scope = NewDisposeScope();
        var tokens = randint(V, [B, 1]);
        var o = model.Forward(tokens, tokens);
        Assert.True(o.MtpLoss is null || Scalar(o.MtpLoss) == 0);
        Assert.Equal(Scalar(o.LmLoss!) + Scalar(o.AuxLoss!), Scalar(o.Loss!), 1e-6);
    }

    [Fact]
    public void TrainingReachesTheMtpParametersAndLowersTheMtpLoss()
    {
        manual_seed(36);
        var model = Model();
        model.train();
        var optimizer = optim.Adam(model.parameters(), 1e-2);
        using var scope = NewDisposeScope();
        var (tokens, targets) = Batch();

        double first = 0, last = 0;
        for (var step = 0; step < 25; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var o = model.Forward(tokens, targets);
            Assert.True(double.IsFinite(Scalar(o.Loss!)));
            o.Loss!.backward();
            if (step == 0)
            {
                first = Scalar(o.MtpLoss!);
                foreach (var name in new[] { "mtp.0.proj.weight", "mtp.1.proj.weight", "mtp.0.final_norm.weight", "mtp.1.embed_norm.weight", "mtp.1.block.attn.wq.weight" })
                {
                    var grad = Param(model, name).grad;
                    Assert.NotNull(grad);
                    Assert.True(MaxAbs(grad!) > 0, $"no gradient reached {name}");
                }
            }
            last = Scalar(o.MtpLoss!);
            optimizer.step();
        }
        // Memorising one fixed batch: the MTP loss (1.7 at start) must fall clearly.
        Assert.True(last < 0.8 * first, $"MTP loss went from {first} to {last}");
    }
}
