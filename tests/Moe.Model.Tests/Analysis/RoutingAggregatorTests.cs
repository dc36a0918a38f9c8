using Moe.Model.Analysis;

namespace Moe.Model.Tests.Analysis;

/// <summary>The aggregation on routing traces written by hand, with every statistic worked out in the comments.</summary>
public class RoutingAggregatorTests
{
    const double Tol = 1e-12;

    /// <summary>
    /// E = 4, k = 2, windows of 4, groups a (0) and b (1), buckets of 2 positions, 2 top tokens, ids counted from 2
    /// occurrences. Six tokens (id, position, group, experts best first, kept, entropy):
    /// <code>
    /// r0: 7 @0 a [0,1] kept [y,y] H 1.0
    /// r1: 7 @1 a [0,2] kept [y,n] H 0.5
    /// r2: 8 @2 a [1,0] kept [y,y] H 0.0
    /// r3: 7 @3 b [2,0] kept [n,n] H 1.5
    /// r4: 8 @0 b [1,3] kept [y,y] H 1.0
    /// r5: 9 @1 b [3,1] kept [y,y] H 2.0
    /// </code>
    /// </summary>
    static RoutingAggregator HandTrace(int layer = 0)
    {
        var a = new RoutingAggregator(new RoutingAggregationOptions(4, 2, 4, ["a", "b"], PositionBuckets: 2, TopTokens: 2, MinOccurrences: 2));
        a.Add(layer, new TokenRoute(7, 0, 0, [0, 1], [true, true], 1.0));
        a.Add(layer, new TokenRoute(7, 1, 0, [0, 2], [true, false], 0.5));
        a.Add(layer, new TokenRoute(8, 2, 0, [1, 0], [true, true], 0.0));
        a.Add(layer, new TokenRoute(7, 3, 1, [2, 0], [false, false], 1.5));
        a.Add(layer, new TokenRoute(8, 0, 1, [1, 3], [true, true], 1.0));
        a.Add(layer, new TokenRoute(9, 1, 1, [3, 1], [true, true], 2.0));
        return a;
    }

    static void Near(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= Tol, $"{what}: expected {expected:R}, got {actual:R}");

    static void Near(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Near(expected[i], actual[i], $"{what}[{i}]");
    }

    [Fact]
    public void LoadDropsAndEntropyMatchTheHandCount()
    {
        var r = Assert.Single(HandTrace().Report());
        Assert.Equal(6, r.Tokens);
        // 12 assignments: expert 0 gets r0 r1 r2 r3, expert 1 r0 r2 r4 r5, expert 2 r1 r3, expert 3 r4 r5.
        Near([4 / 12.0, 4 / 12.0, 2 / 12.0, 2 / 12.0], r.Load, "load");
        Near(4 / 3.0, r.MaxOverMean, "max_over_mean"); // 4 over a mean of 3
        Near(3 / 12.0, r.DropFraction, "drop_fraction"); // r1's second choice and both of r3's
        Near(6.0 / 6, r.Entropy, "entropy");             // (1 + 0.5 + 0 + 1.5 + 1 + 2) / 6
    }

    [Fact]
    public void GroupSharesCountEachGroupsAssignments()
    {
        var g = Assert.Single(HandTrace().Report()).ByGroup;
        Assert.Equal(["a", "b"], g.Select(x => x.Group));
        Assert.Equal([3L, 3L], g.Select(x => x.Tokens));
        Near([3 / 6.0, 2 / 6.0, 1 / 6.0, 0], g[0].Share, "a");  // r0 r1 r2: e0 x3, e1 x2, e2 x1
        Near([1 / 6.0, 2 / 6.0, 1 / 6.0, 2 / 6.0], g[1].Share, "b"); // r3 r4 r5: e0 x1, e1 x2, e2 x1, e3 x2
    }

    [Fact]
    public void TopTokensAreTheIdsEachExpertReceivesMostWithTheirShareOfOccurrences()
    {
        // id 7 occurs 3 times (r0 r1 r3), id 8 twice (r2 r4), id 9 once (r5).
        var top = Assert.Single(HandTrace().Report()).TopTokens;
        Assert.Equal([0, 1, 2, 3], top.Select(t => t.Expert));
        Expect(top[0], (7, 3, 1.0), (8, 1, 0.5));          // e0: 7 by r0 r1 r3, 8 by r2
        Expect(top[1], (8, 2, 1.0), (7, 1, 1 / 3.0));      // e1: 8 by r2 r4; 7 and 9 once each, the lower id wins the tie
        Expect(top[2], (7, 2, 2 / 3.0));                   // e2: 7 by r1 r3
        Expect(top[3], (8, 1, 0.5), (9, 1, 1.0));          // e3: 8 by r4, 9 by r5

        static void Expect(ExpertTokens e, params (int Id, long Count, double Share)[] expected)
        {
            Assert.Equal(expected.Select(x => (x.Id, x.Count)), e.Tokens.Select(t => (t.Id, t.Count)));
            for (var i = 0; i < expected.Length; i++) Near(expected[i].Share, e.Tokens[i].RoutedShare, $"expert {e.Expert} id {expected[i].Id}");
        }
    }

    [Fact]
    public void ConsistencyIsTheFrequencyWeightedShareOfEachIdsMostCommonTopOneExpert()
    {
        // Ids seen at least twice: 7 (top-1 experts 0, 0, 2: 2 of 3 agree) and 8 (1, 1: 2 of 2). Id 9 is seen once.
        var c = Assert.Single(HandTrace().Report()).ContextIndependence;
        Near((2 + 2) / 5.0, c.Consistency!.Value, "consistency");
        Near(0.25, c.Chance, "chance");
        Assert.Equal(5, c.TokensCounted);
        Assert.Equal(2, c.MinOccurrences);
    }

    [Fact]
    public void DropsByPositionDivideDroppedByAssignedInEachBucket()
    {
        // Bucket 0 (positions 0-1): r0 r1 r4 r5, 8 assignments, 1 dropped. Bucket 1 (positions 2-3): r2 r3, 4 assignments, 2 dropped.
        var d = Assert.Single(HandTrace().Report()).DropByPosition;
        Assert.Equal(2, d.BucketSize);
        Assert.Equal(2, d.Fractions.Length);
        Near(1 / 8.0, d.Fractions[0]!.Value, "bucket 0");
        Near(2 / 4.0, d.Fractions[1]!.Value, "bucket 1");
    }

    [Fact]
    public void EmptyBucketsGroupsAndRareIdsReportNullsAndZerosInsteadOfDividingByZero()
    {
        var a = new RoutingAggregator(new RoutingAggregationOptions(2, 1, 4, ["x", "y"], PositionBuckets: 4, MinOccurrences: 5));
        a.Add(0, new TokenRoute(3, 0, 0, [1], [true], 0.2));
        var r = Assert.Single(a.Report());
        Assert.Equal([0.0, 1.0], r.Load);
        Assert.Equal([0.0, 0.0], r.ByGroup[1].Share); // group y saw nothing
        Assert.Equal(0, r.ByGroup[1].Tokens);
        Assert.Null(r.ContextIndependence.Consistency); // id 3 seen once, fewer than 5 times
        Assert.Equal(0, r.ContextIndependence.TokensCounted);
        Assert.Equal([0.0, null, null, null], r.DropByPosition.Fractions);
        Assert.Empty(r.TopTokens[0].Tokens);
    }

    [Fact]
    public void LayersAreReportedSeparatelyInLayerOrder()
    {
        var a = HandTrace(layer: 3);
        a.Add(1, new TokenRoute(5, 0, 0, [3, 2], [true, true], 0));
        var r = a.Report();
        Assert.Equal([1, 3], r.Select(l => l.Layer));
        Assert.Equal(1, r[0].Tokens);
        Assert.Equal([0, 0, 0.5, 0.5], r[0].Load);
        Assert.Equal(6, r[1].Tokens);
    }

    [Theory]
    // seq_len, buckets asked, bucket size = ceil(seq / buckets), buckets = ceil(seq / size)
    [InlineData(128, 8, 16, 8)]
    [InlineData(10, 4, 3, 4)]   // positions 0-2, 3-5, 6-8, 9
    [InlineData(10, 8, 2, 5)]   // ceil(10 / 8) = 2 positions a bucket leaves only 5 buckets
    [InlineData(5, 1, 5, 1)]
    public void PositionBucketsCoverTheWindow(int seq, int asked, int size, int buckets)
    {
        var o = new RoutingAggregationOptions(4, 2, seq, ["all"], PositionBuckets: asked);
        Assert.Equal(size, o.BucketSize);
        Assert.Equal(buckets, o.Buckets);
    }

    [Fact]
    public void RecordsThatDoNotFitTheOptionsAreRejected()
    {
        var a = new RoutingAggregator(new RoutingAggregationOptions(4, 2, 4, ["a"]));
        Assert.Throws<ArgumentException>(() => a.Add(0, new TokenRoute(1, 0, 0, [0], [true], 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Add(0, new TokenRoute(1, 4, 0, [0, 1], [true, true], 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Add(0, new TokenRoute(1, 0, 1, [0, 1], [true, true], 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Add(0, new TokenRoute(1, 0, 0, [0, 4], [true, true], 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingAggregator(new RoutingAggregationOptions(4, 5, 4, ["a"])));
    }
}
