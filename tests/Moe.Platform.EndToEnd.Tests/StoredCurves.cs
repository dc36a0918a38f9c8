using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>What the end-to-end tests check of a run's stored metrics, however its processes came and went.</summary>
public static class StoredCurves
{
    /// <summary>The stored loss curve has every step 1..<paramref name="steps"/> exactly once.</summary>
    public static async Task AssertEachStepOnceAsync(PlatformDb db, string runId, int steps)
    {
        var loss = await new MetricStore(db).QueryAsync(runId, "loss", null, null, 1000, TestContext.Current.CancellationToken);
        Assert.Equal(Enumerable.Range(1, steps).Select(s => (long)s), loss.Buckets.Select(b => b.FirstStep));
        Assert.All(loss.Buckets, b => Assert.Equal(1, b.Count));
    }

    /// <summary>The same, in a SQLite database file.</summary>
    public static async Task AssertEachStepOnceAsync(string sqliteDatabase, string runId, int steps)
    {
        await using var db = new PlatformDb(PlatformDbOptions.Create(null, sqliteDatabase));
        await AssertEachStepOnceAsync(db, runId, steps);
    }
}
