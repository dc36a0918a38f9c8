using Moe.Model.Data;

namespace Moe.Model.Tests.Data;

/// <summary>Mixtures and curricula: realised weights, phase switching, exact resume, configuration errors.</summary>
public sealed class MixtureSamplerTests
{
    const int Seq = 4;

    /// <summary>Dataset number <paramref name="d"/> holds ids d*1000 .. d*1000+n-1, so every window tells where it came from.</summary>
    static int[] Tokens(int d, int n) => Enumerable.Range(d * 1000, n).ToArray();

    static readonly Dictionary<string, int[]> Three = new()
    {
        ["web"] = Tokens(0, 401),
        ["books"] = Tokens(1, 121),
        ["code"] = Tokens(2, 61),
    };

    static string Source(long firstToken) => Three.Single(p => p.Value[0] == firstToken / 1000 * 1000).Key;

    static IEnumerable<string> Sources(long[,] batch) => Enumerable.Range(0, batch.GetLength(0)).Select(r => Source(batch[r, 0]));

    static Dictionary<string, double> W(params (string Name, double Weight)[] weights) => weights.ToDictionary(w => w.Name, w => w.Weight);

    static readonly MixturePhase[] Curriculum =
    [
        new(0.5, W(("web", 0.8), ("books", 0.2))),
        new(0.8, W(("web", 0.5), ("books", 0.3), ("code", 0.2))),
        new(1.0, W(("code", 1.0))),
    ];

    [Fact]
    public void RealisedWeightsMatchThePhaseWeights()
    {
        var sampler = new MixtureSampler(Three, Seq, seed: 11, [MixturePhase.Constant(W(("web", 0.7), ("books", 0.3)))]);
        var counts = new Dictionary<string, int>();
        for (var b = 0; b < 200; b++)
            foreach (var s in Sources(sampler.Next(100, progress: b / 200.0)))
                counts[s] = counts.GetValueOrDefault(s) + 1;

        Assert.False(counts.ContainsKey("code"));   // weight 0: never drawn
        Assert.InRange(counts["web"] / 20_000.0, 0.68, 0.72);
        Assert.InRange(counts["books"] / 20_000.0, 0.28, 0.32);
        var position = sampler.Position;
        Assert.Equal(counts["web"], position.Drawn["web"]);
        Assert.Equal(0, position.Drawn["code"]);
        Assert.Equal(counts["web"] / 20_000.0, position.RealisedShares()["web"], 12);
    }

    [Fact]
    public void ThePhaseContainingTheProgressChoosesTheWeights()
    {
        var sampler = new MixtureSampler(Three, Seq, seed: 1, Curriculum);
        Assert.Equal([0, 0, 0, 1, 1, 2, 2, 2], new[] { 0.0, 0.25, 0.5, 0.5000001, 0.8, 0.80001, 1.0, 1.2 }.Select(sampler.PhaseAt));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.PhaseAt(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.PhaseAt(double.NaN));

        Assert.DoesNotContain("code", Sources(sampler.Next(200, 0.5)));
        Assert.Equal(["code"], Sources(sampler.Next(200, 0.81)).Distinct());
        Assert.Equal(["books", "code", "web"], Sources(sampler.Next(500, 0.7)).Distinct().Order());
    }

    [Fact]
    public void ResumingFromASavedPositionContinuesTheExactSequence()
    {
        var uninterrupted = new MixtureSampler(Three, Seq, seed: 5, Curriculum);
        var first = new MixtureSampler(Three, Seq, seed: 5, Curriculum);
        const int steps = 40, saveAt = 17;
        for (var step = 0; step < saveAt; step++) Assert.Equal(uninterrupted.Next(8, step / (double)steps), first.Next(8, step / (double)steps));

        var json = first.Position.ToJson();
        foreach (var field in new[] { "\"seed\"", "\"rng_state\"", "\"samplers\"", "\"drawn\"", "\"books\"", "\"epoch\"", "\"index\"" })
            Assert.Contains(field, json);
        var saved = MixturePosition.FromJson(json);
        var resumed = new MixtureSampler(Three, Seq, seed: 5, Curriculum, saved);
        Assert.Equal(json, resumed.Position.ToJson());
        // The small "code" set runs through several epochs late in training: resume covers its position too.
        for (var step = saveAt; step < steps; step++) Assert.Equal(uninterrupted.Next(8, step / (double)steps), resumed.Next(8, step / (double)steps));
        Assert.True(resumed.Position.Samplers["code"].Epoch >= 2);
        Assert.Equal(uninterrupted.Position.ToJson(), resumed.Position.ToJson());
    }

    [Fact]
    public void AResumePositionFromAnotherMixtureIsRefused()
    {
        var position = new MixtureSampler(Three, Seq, seed: 5, Curriculum).Position;
        Assert.Throws<ArgumentException>(() => new MixtureSampler(Three, Seq, seed: 6, Curriculum, position));
        var two = new Dictionary<string, int[]> { ["web"] = Three["web"], ["books"] = Three["books"] };
        Assert.Throws<ArgumentException>(() => new MixtureSampler(two, Seq, seed: 5, [MixturePhase.Only("web")], position));
    }

    [Fact]
    public void ASingleDatasetIsAMixtureOfOne()
    {
        var single = new Dictionary<string, int[]> { ["only"] = Tokens(0, 41) };
        var sampler = new MixtureSampler(single, Seq, seed: 3, [MixturePhase.Only("only")]);
        var targets = Enumerable.Range(0, 10).SelectMany(_ => { var w = sampler.Next(1, 0.3); return Enumerable.Range(1, Seq).Select(t => w[0, t]); });
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), targets.Order());   // one epoch: every token a target once
        Assert.Equal(10, sampler.Position.Drawn["only"]);
    }

    [Fact]
    public void AnUnknownDatasetNamesItselfAndThePhase()
    {
        MixturePhase[] phases = [new(0.5, W(("web", 1))), new(1.0, W(("web", 1), ("wiki", 2)))];
        var e = Assert.Throws<DataException>(() => new MixtureSampler(Three, Seq, seed: 1, phases, source: "configs/run.json"));
        Assert.Contains("configs/run.json", e.Message);
        Assert.Contains("phase 1", e.Message);
        Assert.Contains("'wiki'", e.Message);
        Assert.Contains("books, code, web", e.Message);
    }

    [Theory]
    [InlineData(new[] { 0.5, 0.4, 1.0 }, "phase 1: until 0.4")]   // not increasing
    [InlineData(new[] { 0.5, 0.9 }, "must end at 1")]
    [InlineData(new[] { 0.0, 1.0 }, "phase 0: until 0")]
    [InlineData(new[] { 1.5 }, "phase 0: until 1.5")]
    public void PhaseBoundariesMustIncreaseToOne(double[] untils, string fragment)
    {
        var phases = untils.Select(u => new MixturePhase(u, W(("web", 1)))).ToArray();
        var e = Assert.Throws<DataException>(() => new MixtureSampler(Three, Seq, seed: 1, phases));
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void WeightsMustBeNonNegativeAndNotAllZero()
    {
        Assert.Contains("phase 0: weight -1", Assert.Throws<DataException>(() =>
            new MixtureSampler(Three, Seq, 1, [MixturePhase.Constant(W(("web", 1), ("books", -1)))])).Message);
        Assert.Contains("phase 0: all weights are zero", Assert.Throws<DataException>(() =>
            new MixtureSampler(Three, Seq, 1, [MixturePhase.Constant(W(("web", 0)))])).Message);
        Assert.Contains("weight NaN", Assert.Throws<DataException>(() =>
            new MixtureSampler(Three, Seq, 1, [MixturePhase.Constant(W(("web", double.NaN)))])).Message);
        Assert.Throws<DataException>(() => new MixtureSampler(Three, Seq, 1, []));
    }

    [Fact]
    public void ADatasetTooShortForOneWindowIsNamed()
    {
        var data = new Dictionary<string, int[]> { ["web"] = Three["web"], ["tiny"] = [1, 2, 3] };
        var e = Assert.Throws<DataException>(() => new MixtureSampler(data, Seq, 1, [MixturePhase.Only("web")]));
        Assert.Contains("'tiny'", e.Message);
    }
}
