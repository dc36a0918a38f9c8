using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

public class AttentionTests
{
    const int D = 16, Heads = 4, HeadDim = D / Heads;
    const double Theta = 10000;

    static ModelConfig Config(int? kvHeads, int? window) => new()
    {
        DModel = D, NHeads = Heads, NKvHeads = kvHeads, SlidingWindow = window, MaxSeqLen = 32, InitStd = 0.3, RopeTheta = Theta,
    };

    static CausalSelfAttention Attention(ModelConfig c) =>
        new(c, new RotaryEmbedding(c.HeadDim, c.MaxSeqLen, c.RopeTheta), outStd: 0.3);

    /// <summary>
    /// Brute-force causal attention in doubles, one (batch, head, query) at a time:
    /// q = Wq x, k = Wk x, v = Wv x per head (Linear weights are [out, in]); RoPE on q and k at position offset + t;
    /// query head h reads key/value head h / (heads / kvHeads); s_tj = q_t . k_j / sqrt(head_dim) for j &lt;= t and
    /// (no window or t - j &lt; window); p = softmax(s); y_t = sum_j p_tj v_j; out = Wo concat_h(y).
    /// </summary>
    static double[] Reference(CausalSelfAttention attn, float[] x, int b, int t, int kvHeads, int? window, long offset)
    {
        var wq = Floats(Param(attn, "wq.weight"));
        var wk = Floats(Param(attn, "wk.weight"));
        var wv = Floats(Param(attn, "wv.weight"));
        var wo = Floats(Param(attn, "wo.weight"));
        double[] Project(float[] w, int row0, int bi, int ti)
        {
            var r = new double[HeadDim];
            for (var e = 0; e < HeadDim; e++)
                for (var c = 0; c < D; c++) r[e] += (double)w[(row0 + e) * D + c] * x[(bi * t + ti) * D + c];
            return r;
        }

        var output = new double[b * t * D];
        var group = Heads / kvHeads;
        for (var bi = 0; bi < b; bi++)
        {
            var concat = new double[t, Heads * HeadDim];
            for (var h = 0; h < Heads; h++)
            {
                var g = h / group;
                var keys = Enumerable.Range(0, t).Select(j => Rope(Project(wk, g * HeadDim, bi, j), offset + j, Theta)).ToArray();
                var values = Enumerable.Range(0, t).Select(j => Project(wv, g * HeadDim, bi, j)).ToArray();
                for (var ti = 0; ti < t; ti++)
                {
                    var q = Rope(Project(wq, h * HeadDim, bi, ti), offset + ti, Theta);
                    var allowed = Enumerable.Range(0, t).Where(j => j <= ti && (window is null || ti - j < window)).ToArray();
                    var scores = allowed.Select(j => q.Zip(keys[j], (u, w) => u * w).Sum() / Math.Sqrt(HeadDim)).ToArray();
                    var max = scores.Max();
                    var exp = scores.Select(s => Math.Exp(s - max)).ToArray();
                    var z = exp.Sum();
                    for (var a = 0; a < allowed.Length; a++)
                        for (var e = 0; e < HeadDim; e++) concat[ti, h * HeadDim + e] += exp[a] / z * values[allowed[a]][e];
                }
            }
            for (var ti = 0; ti < t; ti++)
                for (var o = 0; o < D; o++)
                {
                    double s = 0;
                    for (var c = 0; c < Heads * HeadDim; c++) s += wo[o * Heads * HeadDim + c] * concat[ti, c];
                    output[(bi * t + ti) * D + o] = s;
                }
        }
        return output;
    }

    [Theory]
    [InlineData(null, 6)]
    [InlineData(2, 6)]
    [InlineData(1, 3)]
    public void OutputShapeIsBatchByTimeByModel(int? kvHeads, int t)
    {
        var attn = Attention(Config(kvHeads, null));
        using var scope = NewDisposeScope();
        var y = attn.forward(randn(3, t, D), BlockContext.Start);
        Assert.Equal(new long[] { 3, t, D }, y.shape);
        // Key/value projections shrink with the number of key/value heads: [kv x head_dim, d].
        Assert.Equal(new long[] { (kvHeads ?? Heads) * HeadDim, D }, Param(attn, "wk.weight").shape);
        Assert.Equal(new long[] { (kvHeads ?? Heads) * HeadDim, D }, Param(attn, "wv.weight").shape);
        Assert.Equal(new long[] { Heads * HeadDim, D }, Param(attn, "wq.weight").shape);
    }

    [Theory]
    [InlineData(2, null)]
    [InlineData(1, null)]
    [InlineData(2, 3)]
    public void GroupedQueryAttentionEqualsMhaWithDuplicatedKeyValueHeads(int kvHeads, int? window)
    {
        manual_seed(10);
        var gqa = Attention(Config(kvHeads, window));
        var mha = Attention(Config(null, window));
        using var scope = NewDisposeScope();
        // Query head h reads kv head h / (heads / kv): MHA's key rows for head h are the GQA rows of kv head h / group.
        var group = Heads / kvHeads;
        Set(Param(mha, "wq.weight"), Param(gqa, "wq.weight"));
        Set(Param(mha, "wo.weight"), Param(gqa, "wo.weight"));
        foreach (var name in new[] { "wk.weight", "wv.weight" })
            Set(Param(mha, name), Param(gqa, name).view(kvHeads, HeadDim, D).repeat_interleave(group, 0).reshape(Heads * HeadDim, D));

        var x = randn(2, 7, D);
        var a = gqa.forward(x, BlockContext.Start);
        var b = mha.forward(x, BlockContext.Start);
        Assert.True(MaxAbsDiff(a, b) < 1e-5, $"GQA vs duplicated MHA differ by {MaxAbsDiff(a, b)}");
        Assert.True(MaxAbs(a) > 1e-2); // not trivially zero

        // Sanity: giving each MHA head its own (different) keys changes the output.
        Set(Param(mha, "wk.weight"), randn(Heads * HeadDim, D) * 0.3);
        Assert.True(MaxAbsDiff(gqa.forward(x, BlockContext.Start), mha.forward(x, BlockContext.Start)) > 1e-3);
    }

    [Theory]
    [InlineData(null, null, 0)]
    [InlineData(2, null, 0)]
    [InlineData(1, null, 0)]
    [InlineData(2, 3, 0)]      // window < T: explicit mask path
    [InlineData(null, 1, 0)]   // window 1: each token sees only itself
    [InlineData(2, 10, 0)]     // window >= T: plain causal path
    [InlineData(2, null, 5)]   // positions start at 5 (RoPE offset)
    [InlineData(2, 2, 3)]
    public void MatchesBruteForceReference(int? kvHeads, int? window, long offset)
    {
        manual_seed(11);
        var attn = Attention(Config(kvHeads, window));
        using var scope = NewDisposeScope();
        const int b = 2, t = 6;
        var x = randn(b, t, D);
        var y = Floats(attn.forward(x, new BlockContext(offset)));
        var expected = Reference(attn, Floats(x), b, t, kvHeads ?? Heads, window, offset);
        var worst = expected.Zip(y, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-5, $"max |reference - attention| = {worst}");
        Assert.True(expected.Max(Math.Abs) > 0.1, "outputs too small for the tolerance to mean anything");
    }

    [Fact]
    public void SlidingWindowMaskForFiveTokensWindowTwo()
    {
        using var scope = NewDisposeScope();
        var mask = CausalSelfAttention.SlidingWindowMask(5, 2, CPU);
        Assert.Equal(ScalarType.Bool, mask.dtype);
        Assert.Equal(new long[] { 5, 5 }, mask.shape);
        // Query i (row) sees keys j with j <= i and i - j < 2, i.e. itself and its predecessor.
        long[] expected =
        [
            1, 0, 0, 0, 0,
            1, 1, 0, 0, 0,
            0, 1, 1, 0, 0,
            0, 0, 1, 1, 0,
            0, 0, 0, 1, 1,
        ];
        Assert.Equal(expected, Longs(mask));
    }

    [Fact]
    public void SlidingWindowHidesTokensOutsideTheWindow()
    {
        manual_seed(12);
        const int t = 8, w = 3, changed = 2;
        var attn = Attention(Config(2, w));
        using var scope = NewDisposeScope();
        var x = randn(1, t, D);
        var x2 = x.clone();
        x2[0, changed] = randn(D);
        var a = attn.forward(x, BlockContext.Start);
        var b = attn.forward(x2, BlockContext.Start);
        // In one attention layer, query t reads keys t-2..t (window 3): changing token 2 affects only queries 2, 3, 4.
        for (var pos = 0; pos < t; pos++)
        {
            var diff = MaxAbsDiff(a[0, pos], b[0, pos]);
            if (pos >= changed && pos - changed < w) Assert.True(diff > 1e-4, $"position {pos} should see token {changed} (diff {diff})");
            else Assert.True(diff < 1e-6, $"position {pos} must not see token {changed} (diff {diff})");
        }

        // Without a window the last position does see token 2.
        var full = Attention(Config(2, null));
        CopyState(attn, full);
        Assert.True(MaxAbsDiff(full.forward(x, BlockContext.Start)[0, t - 1], full.forward(x2, BlockContext.Start)[0, t - 1]) > 1e-4);
    }
}
