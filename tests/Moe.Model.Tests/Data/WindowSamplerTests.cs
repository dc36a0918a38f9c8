using Moe.Model.Data;

namespace Moe.Model.Tests.Data;

/// <summary>Training windows: determinism, exact resume from a saved position, epoch coverage; fixed validation windows.</summary>
public sealed class WindowSamplerTests
{
    static int[] Ramp(int n) => Enumerable.Range(0, n).ToArray();

    static long[][] Rows(long[,] batch) =>
        Enumerable.Range(0, batch.GetLength(0)).Select(r => Enumerable.Range(0, batch.GetLength(1)).Select(c => batch[r, c]).ToArray()).ToArray();

    [Fact]
    public void WindowsAreSeqPlusOneConsecutiveTokensAtMultiplesOfSeq()
    {
        var sampler = new WindowSampler(Ramp(41), sequenceLength: 8, seed: 3);
        Assert.Equal(5, sampler.WindowCount);
        foreach (var row in Rows(sampler.Next(5)))
        {
            Assert.Equal(9, row.Length);
            Assert.Equal(0, row[0] % 8);
            Assert.Equal(Enumerable.Range((int)row[0], 9).Select(i => (long)i), row);
        }
    }

    [Fact]
    public void SameSeedSameWindowsOtherSeedOtherOrder()
    {
        var tokens = Ramp(2001);
        var a = new WindowSampler(tokens, 10, seed: 42);
        var b = new WindowSampler(tokens, 10, seed: 42);
        var c = new WindowSampler(tokens, 10, seed: 43);
        for (var i = 0; i < 30; i++)
        {
            var batch = a.Next(16);
            Assert.Equal(batch, b.Next(16));
            if (i == 0) Assert.NotEqual(batch, c.Next(16));
        }
    }

    [Fact]
    public void EveryTokenIsATargetExactlyOncePerEpoch()
    {
        const int seq = 6, windows = 37;
        var tokens = Ramp(windows * seq + 1);
        var sampler = new WindowSampler(tokens, seq, seed: 9);
        for (var epoch = 0; epoch < 2; epoch++)
        {
            // Batches of 5 do not divide 37: the epoch is drawn across batch boundaries, one window at a time at the end.
            var rows = new List<long[]>();
            while (rows.Count < windows) rows.AddRange(Rows(sampler.Next(Math.Min(5, windows - rows.Count))));
            var targets = rows.SelectMany(r => r.Skip(1)).Order();
            Assert.Equal(Enumerable.Range(1, windows * seq).Select(i => (long)i), targets);
            Assert.Equal(new SamplerPosition(9, epoch, windows), sampler.Position);
        }
        Assert.NotEqual(sampler.EpochOrder(0), sampler.EpochOrder(1));
    }

    [Fact]
    public void ResumingFromASavedPositionContinuesTheExactSequence()
    {
        var tokens = Ramp(1000);
        var uninterrupted = new WindowSampler(tokens, 16, seed: 7);
        var first = new WindowSampler(tokens, 16, seed: 7);
        // 62 windows; 3 batches of 25 cross into the second epoch.
        for (var k = 0; k < 3; k++) Assert.Equal(uninterrupted.Next(25), first.Next(25));
        var json = first.Position.ToJson();
        Assert.Contains("\"epoch\": 1", json);
        Assert.Contains("\"index\": 13", json);

        var resumed = new WindowSampler(tokens, 16, seed: 7, SamplerPosition.FromJson(json));
        Assert.Equal(first.Position, resumed.Position);
        for (var k = 0; k < 6; k++) Assert.Equal(uninterrupted.Next(25), resumed.Next(25));
    }

    [Fact]
    public void AnInconsistentResumePositionIsRefused()
    {
        var tokens = Ramp(100);
        Assert.Throws<ArgumentException>(() => new WindowSampler(tokens, 10, seed: 1, new SamplerPosition(2, 0, 0)));
        Assert.Throws<ArgumentException>(() => new WindowSampler(tokens, 10, seed: 1, new SamplerPosition(1, 0, 10)));
        Assert.Throws<ArgumentException>(() => new WindowSampler(tokens, 10, seed: 1, new SamplerPosition(1, -1, 0)));
        Assert.Throws<ArgumentException>(() => new WindowSampler(Ramp(10), 10, seed: 1));
        // A finished epoch (index = window count) is a valid place to resume.
        var end = new WindowSampler(tokens, 10, seed: 1, new SamplerPosition(1, 0, 9));
        end.Next(1);
        Assert.Equal(new SamplerPosition(1, 1, 1), end.Position);
    }

    // ------------------------------------------------------------------ validation windows

    [Fact]
    public void ValidationWindowsAreEvenlySpacedAndFixed()
    {
        var tokens = Ramp(101);   // 25 windows of 4 + 1
        var windows = ValidationWindows.Select(tokens, sequenceLength: 4, maxWindows: 5);
        Assert.Equal(new[] { 5, 5 }, new[] { windows.GetLength(0), windows.GetLength(1) });
        Assert.Equal([0L, 20, 40, 60, 80], Rows(windows).Select(r => r[0]));
        Assert.All(Rows(windows), r => Assert.Equal(Enumerable.Range((int)r[0], 5).Select(i => (long)i), r));
        Assert.Equal(windows, ValidationWindows.Select(tokens, 4, 5));

        var capped = ValidationWindows.Select(tokens, 4, 7);   // 25 / 7: floor(i * 25 / 7) = 0, 3, 7, 10, 14, 17, 21
        Assert.Equal([0L, 12, 28, 40, 56, 68, 84], Rows(capped).Select(r => r[0]));
    }

    [Fact]
    public void ValidationWindowsTakeAllWindowsWhenFewerThanAskedAndNoneFromAShortSplit()
    {
        var all = ValidationWindows.Select(Ramp(101), 4, 1000);
        Assert.Equal(25, all.GetLength(0));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => 4L * i), Rows(all).Select(r => r[0]));

        var none = ValidationWindows.Select(Ramp(4), 4, 10);
        Assert.Equal(0, none.GetLength(0));
        Assert.Equal(5, none.GetLength(1));
    }
}
