using Moe.Model.Generation;

namespace Moe.Model.Tests.Generation;

/// <summary>The stop conditions and the vocabulary limit of <see cref="TextGenerator"/>.</summary>
[Collection(MoeTestModels.Collection)]
public class TextGeneratorTests
{
    static MoeTransformer Model()
    {
        manual_seed(2);
        return new MoeTransformer(MoeTestModels.Tiny("vocab_size=64", "max_seq_len=32", "init_std=0.5"));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void IdsAtOrAboveTheVocabLimitAreNeverGenerated(double temperature)
    {
        using var model = Model();
        var free = TextGenerator.Generate(model, [40, 50, 60], new SamplingOptions(20, temperature, Seed: 1), CPU);
        Assert.Contains(free, id => id >= 8); // without the limit the model does pick high ids, so the limit is what stops them
        var limited = TextGenerator.Generate(model, [40, 50, 60], new SamplingOptions(20, temperature, Seed: 1, VocabLimit: 8), CPU);
        Assert.Equal(20, limited.Count);
        Assert.All(limited, id => Assert.InRange(id, 0, 7));
    }

    [Fact]
    public void StopWhenEndsGenerationAfterTheTokenThatMadeItTrue()
    {
        using var model = Model();
        var free = TextGenerator.Generate(model, [1, 2, 3], new SamplingOptions(12, 0), CPU);
        var stopped = TextGenerator.Generate(model, [1, 2, 3], new SamplingOptions(12, 0, StopWhen: g => g.Count == 4), CPU);
        Assert.Equal(free.Take(4), stopped);
    }
}
