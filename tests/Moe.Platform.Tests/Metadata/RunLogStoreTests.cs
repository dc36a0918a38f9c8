using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Tests.Metadata;

/// <summary>A run's log lines: numbered in arrival order across batches and attempts, the oldest trimmed beyond the cap.</summary>
public abstract class RunLogStoreTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    static IEnumerable<(DateTime, string)> Lines(int from, int count) =>
        Enumerable.Range(from, count).Select(i => (DateTime.UnixEpoch.AddSeconds(i), $"line {i}"));

    [Fact]
    public async Task Lines_are_numbered_in_order_across_batches_and_attempts_and_trimmed_to_the_cap()
    {
        await using var database = await CreateDatabaseAsync();
        await using var db = await database.MigratedContextAsync(Ct);
        db.Experiments.Add(new Experiment { Id = "e", Name = "e", Runs = [new Run { Id = "r", ExperimentId = "e", Name = "r", Status = "Running" },
            new Run { Id = "other", ExperimentId = "e", Name = "o", Status = "Running" }] });
        await db.SaveChangesAsync(Ct);
        var store = new RunLogStore(db);

        await store.AppendAsync("r", 1, Lines(0, 3), Ct);
        await store.AppendAsync("other", 1, Lines(0, 2), Ct);
        await store.AppendAsync("r", 2, Lines(3, 2), Ct);
        var lines = await db.RunLogs.AsNoTracking().Where(l => l.RunId == "r").OrderBy(l => l.Sequence).ToListAsync(Ct);
        Assert.Equal([0L, 1, 2, 3, 4], lines.Select(l => l.Sequence));
        Assert.Equal(["line 0", "line 1", "line 2", "line 3", "line 4"], lines.Select(l => l.Line));
        Assert.Equal([1, 1, 1, 2, 2], lines.Select(l => l.Attempt));
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(4), lines[^1].At);

        // Past the cap, crossing a thousand trims everything older than the newest MaxLinesPerRun.
        await store.AppendAsync("r", 2, Lines(5, RunLogStore.MaxLinesPerRun + 995), Ct);
        var kept = await db.RunLogs.AsNoTracking().Where(l => l.RunId == "r").Select(l => l.Sequence).ToListAsync(Ct);
        long next = RunLogStore.MaxLinesPerRun + 1000;
        Assert.Equal(RunLogStore.MaxLinesPerRun, kept.Count);
        Assert.Equal(next - RunLogStore.MaxLinesPerRun, kept.Min());
        Assert.Equal(next - 1, kept.Max());
        Assert.Equal(2, await db.RunLogs.CountAsync(l => l.RunId == "other", Ct)); // another run's log is untouched
    }
}

public sealed class SqliteRunLogStoreTests : RunLogStoreTests
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult<TestDatabase>(new SqliteTestDatabase());
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresRunLogStoreTests(PostgresFixture server) : RunLogStoreTests
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => PostgresTestDatabase.CreateAsync(server, TestContext.Current.CancellationToken);
}
