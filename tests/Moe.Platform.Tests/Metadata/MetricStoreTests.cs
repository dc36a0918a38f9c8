using Moe.Platform.Metrics;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Tests.Metadata;

/// <summary>Ingestion and downsampled queries of metric curves, run against each provider by the derived classes.</summary>
public abstract class MetricStoreTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    /// <summary>A migrated database with one run, and a context on it.</summary>
    async Task<(TestDatabase Database, PlatformDb Db, string RunId)> RunAsync()
    {
        var database = await CreateDatabaseAsync();
        var db = await database.MigratedContextAsync(Ct);
        var run = new Run { Id = "r", ExperimentId = "e", Name = "r", Status = "Running" };
        db.Experiments.Add(new Experiment { Id = "e", Name = "e", Runs = [run] });
        await db.SaveChangesAsync(Ct);
        return (database, db, run.Id);
    }

    static IEnumerable<MetricPoint> Points(int first, int last, params string[] names) =>
        Enumerable.Range(first, last - first + 1).SelectMany(step => names.Select(name => new MetricPoint(step, name, step * 0.5)));

    [Fact]
    public async Task Resent_steps_are_overwritten_not_duplicated()
    {
        var (database, db, runId) = await RunAsync();
        await using var _ = database;
        await using var __ = db;
        var store = new MetricStore(db);

        Assert.Equal(200, await store.AppendAsync(runId, Points(1, 100, "loss", "lr"), Ct));
        // A resumed run re-sends 50..100 (with new values) and goes on to 150.
        await store.AppendAsync(runId, Points(50, 150, "loss", "lr").Select(p => p with { Value = p.Value + 1 }), Ct);

        Assert.Equal(["loss", "lr"], await store.ListNamesAsync(runId, Ct));
        foreach (string name in new[] { "loss", "lr" })
        {
            var curve = await store.QueryAsync(runId, name, null, null, 1000, Ct);
            Assert.False(curve.Downsampled);
            Assert.Equal(Enumerable.Range(1, 150).Select(s => (long)s), curve.Buckets.Select(b => b.FirstStep));
            Assert.Equal(49 * 0.5, curve.Buckets[48].Last);
            Assert.Equal(50 * 0.5 + 1, curve.Buckets[49].Last);
        }
    }

    [Fact]
    public async Task Duplicates_within_one_batch_keep_the_last_value_and_nan_reads_back_as_nan()
    {
        var (database, db, runId) = await RunAsync();
        await using var _ = database;
        await using var __ = db;
        var store = new MetricStore(db);

        await store.AppendAsync(runId, [new(1, "loss", 1), new(1, "loss", 2), new(2, "loss", double.NaN), new(3, "loss", 3)], Ct);

        var curve = await store.QueryAsync(runId, "loss", null, null, 10, Ct);
        Assert.Equal([2.0, double.NaN, 3.0], curve.Buckets.Select(b => b.Last));
        var bucket = Assert.Single((await store.QueryAsync(runId, "loss", null, null, 1, Ct)).Buckets);
        Assert.Equal((1L, 3L, 2.0, 3.0, 3.0, 3), (bucket.FirstStep, bucket.LastStep, bucket.Min, bucket.Max, bucket.Last, bucket.Count));
    }

    [Fact]
    public async Task A_long_curve_is_downsampled_on_the_server_keeping_spikes_and_ends()
    {
        var (database, db, runId) = await RunAsync();
        await using var _ = database;
        await using var __ = db;
        var store = new MetricStore(db);
        const int steps = 100_000;
        var spikes = new Dictionary<long, double> { [777] = 50, [31_337] = -40, [64_001] = 99, [99_999] = 75 };
        double ValueAt(long step) => spikes.TryGetValue(step, out double spike) ? spike : Math.Sin(step / 1000.0);
        await store.AppendAsync(runId, Enumerable.Range(1, steps).Select(s => new MetricPoint(s, "loss", ValueAt(s))), Ct);

        var curve = await store.QueryAsync(runId, "loss", null, null, 1000, Ct);

        Assert.True(curve.Downsampled);
        Assert.InRange(curve.Buckets.Count, 900, 1000);
        Assert.Equal(1, curve.Buckets[0].FirstStep);
        Assert.Equal(steps, curve.Buckets[^1].LastStep);
        Assert.Equal(steps, curve.Buckets.Sum(b => b.Count));
        foreach (var (step, value) in spikes)
        {
            var bucket = Assert.Single(curve.Buckets, b => b.FirstStep <= step && step <= b.LastStep);
            Assert.Equal(value, value > 0 ? bucket.Max : bucket.Min);
        }
        foreach (var bucket in curve.Buckets)
        {
            Assert.Equal(ValueAt(bucket.LastStep), bucket.Last);
            Assert.True(bucket.Min <= bucket.Last && bucket.Last <= bucket.Max);
        }
        Assert.True(curve.Buckets.Zip(curve.Buckets.Skip(1)).All(p => p.First.LastStep < p.Second.FirstStep));

        // A step range: buckets cover exactly the range's points.
        var zoom = await store.QueryAsync(runId, "loss", 30_000, 40_000, 100, Ct);
        Assert.True(zoom.Downsampled);
        Assert.InRange(zoom.Buckets.Count, 90, 100);
        Assert.Equal((30_000L, 40_000L), (zoom.Buckets[0].FirstStep, zoom.Buckets[^1].LastStep));
        Assert.Equal(-40, zoom.Buckets.Min(b => b.Min));
    }

    [Fact]
    public async Task A_range_with_fewer_points_than_asked_is_returned_raw()
    {
        var (database, db, runId) = await RunAsync();
        await using var _ = database;
        await using var __ = db;
        var store = new MetricStore(db);
        await store.AppendAsync(runId, Points(1, 5000, "loss"), Ct);

        var curve = await store.QueryAsync(runId, "loss", 101, 600, 500, Ct);

        Assert.False(curve.Downsampled);
        Assert.Equal(Enumerable.Range(101, 500).Select(s => (long)s), curve.Buckets.Select(b => b.FirstStep));
        Assert.All(curve.Buckets, b => Assert.Equal((b.FirstStep, b.FirstStep * 0.5, 1), (b.LastStep, b.Last, b.Count)));
        Assert.Empty((await store.QueryAsync(runId, "missing", null, null, 10, Ct)).Buckets);
        Assert.Empty((await store.QueryAsync(runId, "loss", 6000, null, 10, Ct)).Buckets);
    }

    [Fact]
    public async Task Downsampled_buckets_match_a_brute_force_over_their_steps_after_resends_and_gaps()
    {
        var (database, db, runId) = await RunAsync();
        await using var _ = database;
        await using var __ = db;
        var store = new MetricStore(db);
        var truth = new SortedDictionary<long, double>();
        var random = new Random(7);
        async Task SendAsync(IEnumerable<long> steps, Func<long, double> value)
        {
            var batch = steps.Select(s => new MetricPoint(s, "loss", value(s))).ToList();
            foreach (var p in batch) truth[p.Step] = p.Value;
            await store.AppendAsync(runId, batch, Ct);
        }
        // In trainer-sized batches; a resumed stretch re-sends steps with other values (one a spike, one NaN); a gap.
        for (long start = 0; start < 30_000; start += 500)
            await SendAsync(Enumerable.Range(0, 500).Select(i => start + i).Where(s => s is < 12_000 or > 12_900), _ => random.NextDouble());
        await SendAsync(Enumerable.Range(20_000, 1_500).Select(i => (long)i), s => s == 20_777 ? 500 : s == 20_001 ? double.NaN : -random.NextDouble());

        foreach (var (from, to, maxPoints) in new (long?, long?, int)[] { (null, null, 1000), (null, null, 97), (123, 29_876, 300), (19_990, 21_600, 40), (5, 25_005, 7) })
        {
            var curve = await store.QueryAsync(runId, "loss", from, to, maxPoints, Ct);
            var expected = truth.Where(p => p.Key >= (from ?? long.MinValue) && p.Key <= (to ?? long.MaxValue)).ToList();
            Assert.True(curve.Downsampled);
            Assert.InRange(curve.Buckets.Count, 1, maxPoints);
            Assert.Equal(expected.Count, curve.Buckets.Sum(b => b.Count));
            Assert.Equal((expected[0].Key, expected[^1].Key), (curve.Buckets[0].FirstStep, curve.Buckets[^1].LastStep));
            Assert.True(curve.Buckets.Zip(curve.Buckets.Skip(1)).All(p => p.First.LastStep < p.Second.FirstStep));
            foreach (var bucket in curve.Buckets)
            {
                var inside = expected.Where(p => p.Key >= bucket.FirstStep && p.Key <= bucket.LastStep).ToList();
                var finite = inside.Select(p => p.Value).Where(double.IsFinite).ToList();
                Assert.Equal(inside.Count, bucket.Count);
                Assert.Equal((inside[0].Key, inside[^1].Key), (bucket.FirstStep, bucket.LastStep));
                Assert.Equal(finite.Min(), bucket.Min, 12);
                Assert.Equal(finite.Max(), bucket.Max, 12);
                Assert.Equal(inside[^1].Value, bucket.Last, 12);
            }
        }
        Assert.Equal(500, (await store.QueryAsync(runId, "loss", null, null, 1000, Ct)).Buckets.Max(b => b.Max));
    }

    [Fact]
    public async Task Negative_steps_are_refused()
    {
        var (database, db, runId) = await RunAsync();
        await using var _ = database;
        await using var __ = db;
        var refused = await Assert.ThrowsAsync<PlatformException>(() => new MetricStore(db).AppendAsync(runId, [new(-1, "loss", 1)], Ct));
        Assert.Equal("metric.step", refused.Field);
    }
}
