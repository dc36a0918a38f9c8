using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

public class RMSNormTests
{
    [Fact]
    public void MatchesHandComputationOnOneVector()
    {
        // x = [1, 2, 3, 4], weight g = [1, 0.5, 2, -1], eps = 1e-6.
        // mean(x^2) = (1 + 4 + 9 + 16) / 4 = 30 / 4 = 7.5
        // rsqrt(7.5 + 1e-6) = 1 / 2.7386129... = 0.36514834...
        // y = x * 0.36514834 * g = [0.36514834, 0.36514834, 2.19089008, -1.46059339]
        var norm = new RMSNorm(4, 1e-6);
        using var scope = NewDisposeScope();
        Set(Param(norm, "weight"), tensor(new float[] { 1, 0.5f, 2, -1 }));
        var y = norm.forward(tensor(new float[] { 1, 2, 3, 4 }).view(1, 4));

        Assert.Equal(new long[] { 1, 4 }, y.shape);
        var r = 1 / Math.Sqrt(7.5 + 1e-6);
        Assert.Equal(0.36514834, r, 1e-8); // the hand value above
        double[] expected = [1 * r * 1, 2 * r * 0.5, 3 * r * 2, 4 * r * -1];
        var actual = Floats(y);
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 1e-6);
        Assert.Equal(0.36514834, actual[0], 1e-6);
        Assert.Equal(2.19089008, actual[2], 1e-6);
        Assert.Equal(-1.46059339, actual[3], 1e-6);
    }

    [Fact]
    public void EpsilonIsAddedToTheMeanSquareInsideTheRoot()
    {
        // With a large eps the placement shows: x = [1, 2, 3, 4], eps = 0.5, unit weight.
        // mean(x^2) + eps = 7.5 + 0.5 = 8 -> rsqrt = 1/sqrt(8) = 0.35355339
        // (eps added to the RMS instead would give 1/(2.7386 + 0.5) = 0.30877).
        var norm = new RMSNorm(4, 0.5);
        using var scope = NewDisposeScope();
        var y = Floats(norm.forward(tensor(new float[] { 1, 2, 3, 4 }).view(1, 4)));
        Assert.Equal(0.35355339, y[0], 1e-6);
        Assert.Equal(4 * 0.35355339, y[3], 1e-6);
    }

    [Fact]
    public void NormalisesEachRowIndependentlyAndKeepsTheInputDtype()
    {
        // Rows [3, 4] and [0, 0]: row 1 has mean square (9 + 16)/2 = 12.5 -> y = [3, 4] / sqrt(12.5) = [0.8485, 1.1314];
        // the zero row stays zero (eps keeps the root finite).
        var norm = new RMSNorm(2, 1e-6);
        using var scope = NewDisposeScope();
        var y = norm.forward(tensor(new float[] { 3, 4, 0, 0 }).view(2, 2));
        var v = Floats(y);
        Assert.Equal(3 / Math.Sqrt(12.5 + 1e-6), v[0], 1e-6);
        Assert.Equal(4 / Math.Sqrt(12.5 + 1e-6), v[1], 1e-6);
        Assert.Equal(0.0, v[2]);
        Assert.Equal(0.0, v[3]);

        var yb = norm.forward(tensor(new float[] { 3, 4 }).view(1, 2).to(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, yb.dtype);
        Assert.Equal(3 / Math.Sqrt(12.5), Floats(yb)[0], 1e-2);
    }
}
