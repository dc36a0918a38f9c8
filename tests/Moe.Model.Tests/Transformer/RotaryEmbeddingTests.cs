using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

public class RotaryEmbeddingTests
{
    const int HeadDim = 8;
    const double Theta = 10000;

    /// <summary>One head vector [1, 1, 1, d] placed at position <paramref name="pos"/>.</summary>
    static Tensor At(RotaryEmbedding rope, Tensor v, long pos) => rope.Apply(v.view(1, 1, 1, -1), pos).view(-1);

    static double Dot(Tensor a, Tensor b) => Scalar((a.to(ScalarType.Float64) * b.to(ScalarType.Float64)).sum());

    [Fact]
    public void DotProductDependsOnlyOnTheOffset()
    {
        manual_seed(1);
        var rope = new RotaryEmbedding(HeadDim, 32, Theta);
        using var scope = NewDisposeScope();
        for (var trial = 0; trial < 5; trial++)
        {
            var q = randn(HeadDim);
            var k = randn(HeadDim);
            // <R_m q, R_n k> = <q, R_{n-m} k>: offset 3 at (5, 2) and at (13, 10) must agree.
            var a = Dot(At(rope, q, 5), At(rope, k, 2));
            var b = Dot(At(rope, q, 13), At(rope, k, 10));
            Assert.Equal(a, b, 1e-5);
            // A different offset (7 - 2 = 5) gives a different score: the lowest frequency pair alone turns by 2 rad more.
            var c = Dot(At(rope, q, 7), At(rope, k, 2));
            Assert.True(Math.Abs(a - c) > 1e-3, $"offsets 3 and 5 gave the same score {a} vs {c}");
            // ... and the unrotated score differs too (the rotation is not the identity).
            Assert.True(Math.Abs(a - Dot(q, k)) > 1e-3);
        }
    }

    [Fact]
    public void PositionZeroIsTheIdentity()
    {
        manual_seed(2);
        var rope = new RotaryEmbedding(HeadDim, 16, Theta);
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 1, HeadDim);
        // cos 0 = 1, sin 0 = 0 for every frequency.
        Assert.True(MaxAbsDiff(rope.Apply(x, 0), x) < 1e-7);
        // In a sequence starting at 0, only the first token is unchanged.
        var seq = randn(1, 2, 4, HeadDim);
        var rotated = rope.Apply(seq);
        Assert.True(MaxAbsDiff(rotated.narrow(2, 0, 1), seq.narrow(2, 0, 1)) < 1e-7);
        Assert.True(MaxAbsDiff(rotated.narrow(2, 1, 3), seq.narrow(2, 1, 3)) > 1e-2);
    }

    [Fact]
    public void PreservesTheNormOfEveryHeadVector()
    {
        manual_seed(3);
        var rope = new RotaryEmbedding(HeadDim, 64, Theta);
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 40, HeadDim);
        var y = rope.Apply(x, 7);
        Assert.Equal(x.shape, y.shape);
        var before = Floats(x.norm(-1));
        var after = Floats(y.norm(-1));
        for (var i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i], 1e-5);
    }

    [Fact]
    public void RotatesChannelPairsByHand()
    {
        // head_dim 4, theta 10000, position 1. Frequencies theta^(-2i/d): i=0 -> 1, i=1 -> 10000^(-1/2) = 0.01.
        // Rotate-half pairs: (0, 2) turns by 1 rad, (1, 3) by 0.01 rad; (a, b) -> (a cos - b sin, b cos + a sin).
        // x = [1, 2, 3, 4]:
        //   y0 = 1 cos 1 - 3 sin 1 = 0.5403023 - 2.5244130 = -1.9841106
        //   y2 = 3 cos 1 + 1 sin 1 = 1.6209069 + 0.8414710 =  2.4623779
        //   y1 = 2 cos .01 - 4 sin .01 = 1.9999000 - 0.0399993 = 1.9599007
        //   y3 = 4 cos .01 + 2 sin .01 = 3.9998000 + 0.0199997 = 4.0197997
        var rope = new RotaryEmbedding(4, 8, 10000);
        using var scope = NewDisposeScope();
        var y = Floats(rope.Apply(tensor(new float[] { 1, 2, 3, 4 }).view(1, 1, 1, 4), 1));
        double[] expected = [-1.9841106, 1.9599007, 2.4623779, 4.0197997];
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], y[i], 1e-6);

        // The same vector as the second token of a sequence starting at 0.
        var seq = tensor(new float[] { 9, 9, 9, 9, 1, 2, 3, 4 }).view(1, 1, 2, 4);
        var ys = Floats(rope.Apply(seq).narrow(2, 1, 1));
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], ys[i], 1e-6);
    }

    [Fact]
    public void MatchesADoublePrecisionReferenceAtManyPositions()
    {
        manual_seed(4);
        var rope = new RotaryEmbedding(HeadDim, 32, 500);
        using var scope = NewDisposeScope();
        var x = randn(1, 1, 20, HeadDim);
        var y = Floats(rope.Apply(x, 5));
        var xs = Floats(x);
        for (var t = 0; t < 20; t++)
        {
            var expected = Rope(xs.Skip(t * HeadDim).Take(HeadDim).Select(v => (double)v).ToArray(), 5 + t, 500);
            for (var i = 0; i < HeadDim; i++) Assert.Equal(expected[i], y[t * HeadDim + i], 1e-5);
        }
    }

    [Fact]
    public void OffsetEqualsTheSliceOfALongerSequence()
    {
        manual_seed(5);
        var rope = new RotaryEmbedding(HeadDim, 16, Theta);
        using var scope = NewDisposeScope();
        var full = randn(2, 3, 10, HeadDim);
        var fromZero = rope.Apply(full, 0);
        // Tokens 4..9 rotated as a sequence that starts at position 4.
        var tail = rope.Apply(full.narrow(2, 4, 6), 4);
        Assert.True(MaxAbsDiff(tail, fromZero.narrow(2, 4, 6)) < 1e-6);
        // Starting them at 0 instead is a different rotation.
        Assert.True(MaxAbsDiff(rope.Apply(full.narrow(2, 4, 6), 0), fromZero.narrow(2, 4, 6)) > 1e-2);
    }

    [Fact]
    public void RejectsPositionsPastTheTable()
    {
        var rope = new RotaryEmbedding(HeadDim, 8, Theta);
        using var scope = NewDisposeScope();
        var x = zeros(1, 1, 4, HeadDim);
        rope.Apply(x, 4); // positions 4..7 fit
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.Apply(x, 5));
    }
}
