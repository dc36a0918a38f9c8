using Microsoft.EntityFrameworkCore;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Tests.Metadata;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Moe.Platform.Tests.GrainStorage;

/// <summary>The EF Core grain storage provider, run against each database by the derived classes.</summary>
public abstract class GrainStorageTests
{
    const string StateName = "snapshot";
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly GrainId Run = GrainId.Create("run", "r-42");

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    async Task<GrainStorageHarness> CreateHarnessAsync() => await GrainStorageHarness.CreateAsync(await CreateDatabaseAsync(), Ct);

    static TrainingRunSnapshot Snapshot(string name, int steps = 2) => new()
    {
        Name = name,
        Phase = RunPhase.Running,
        StartedAt = new DateTimeOffset(2025, 3, 4, 5, 6, 7, 123, TimeSpan.FromHours(2)),
        Steps = [.. Enumerable.Range(1, steps).Select(i => new StepRecord(i * 100, 3.5 / i, RunPhase.Running, ["eval", $"s{i}"]))],
        ExpertLoad = new() { ["layer0"] = [3, 1, 4, 1], ["layer1"] = [] },
    };

    [Fact]
    public async Task Written_state_reads_back_equal_in_a_new_activation()
    {
        await using var harness = await CreateHarnessAsync();
        var written = new GrainState<TrainingRunSnapshot>(Snapshot("top2", steps: 3));
        await harness.Storage.WriteStateAsync(StateName, Run, written, Ct);
        Assert.True(written.RecordExists);

        var read = await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct);

        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equivalent(written.State, read.State, strict: true);
        Assert.Equal(TimeSpan.FromHours(2), read.State!.StartedAt!.Value.Offset); // equality alone ignores the offset
        Assert.Equal(["eval", "s3"], read.State.Steps[2].Tags);
    }

    [Fact]
    public async Task Every_write_renews_the_etag()
    {
        await using var harness = await CreateHarnessAsync();
        var state = new GrainState<TrainingRunSnapshot>(Snapshot("a"));
        var etags = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            state.State = state.State! with { Name = $"v{i}" };
            await harness.Storage.WriteStateAsync(StateName, Run, state, Ct);
            etags.Add(Assert.IsType<string>(state.ETag));
        }
        Assert.Equal(3, etags.Distinct().Count());
        Assert.Equal("v2", (await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct)).State!.Name);
    }

    [Fact]
    public async Task A_write_with_a_stale_etag_fails_and_leaves_the_stored_state()
    {
        await using var harness = await CreateHarnessAsync();
        await harness.Storage.WriteStateAsync(StateName, Run, new GrainState<TrainingRunSnapshot>(Snapshot("first")), Ct);
        var stale = await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct);
        var other = await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct);
        other.State = other.State! with { Name = "other activation" };
        await harness.Storage.WriteStateAsync(StateName, Run, other, Ct);

        string staleETag = stale.ETag!;
        stale.State = stale.State! with { Name = "lost update" };
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(
            () => harness.Storage.WriteStateAsync(StateName, Run, stale, Ct));

        Assert.Equal(other.ETag, conflict.StoredEtag);
        Assert.Equal(staleETag, conflict.CurrentEtag);
        var stored = await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct);
        Assert.Equal(("other activation", other.ETag), (stored.State!.Name, stored.ETag));
        // Clearing on the stale ETag is refused too.
        await Assert.ThrowsAsync<InconsistentStateException>(() => harness.Storage.ClearStateAsync(StateName, Run, stale, Ct));
        Assert.True((await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct)).RecordExists);
    }

    [Fact]
    public async Task Concurrent_first_writes_let_exactly_one_win()
    {
        await using var harness = await CreateHarnessAsync();
        const int writers = 6;
        var attempts = Enumerable.Range(0, writers).Select(i => Task.Run<(string Name, string? ETag, InconsistentStateException? Conflict)>(async () =>
        {
            var state = new GrainState<TrainingRunSnapshot>(Snapshot($"writer {i}"));
            try
            {
                await harness.Storage.WriteStateAsync(StateName, Run, state, Ct);
                return (state.State!.Name, state.ETag, null);
            }
            catch (InconsistentStateException e) { return (state.State!.Name, null, e); }
        }, Ct)).ToList();
        var outcomes = await Task.WhenAll(attempts);

        var winner = Assert.Single(outcomes, o => o.Conflict is null);
        Assert.All(outcomes.Where(o => o.Conflict is not null), o => Assert.Equal(winner.ETag, o.Conflict!.StoredEtag));
        var stored = await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct);
        Assert.Equal((winner.Name, winner.ETag), (stored.State!.Name, stored.ETag));
    }

    [Fact]
    public async Task Clear_deletes_the_row_and_a_read_then_finds_no_record()
    {
        await using var harness = await CreateHarnessAsync();
        var state = new GrainState<TrainingRunSnapshot>(Snapshot("doomed"));
        await harness.Storage.WriteStateAsync(StateName, Run, state, Ct);

        await harness.Storage.ClearStateAsync(StateName, Run, state, Ct);

        Assert.Equal((false, null), (state.RecordExists, state.ETag));
        var read = await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct);
        Assert.Equal((false, null), (read.RecordExists, read.ETag));
        Assert.Equivalent(new TrainingRunSnapshot(), read.State, strict: true);
        await using (var db = harness.NewContext()) Assert.Equal(0, await db.GrainStates.CountAsync(Ct));
        // After a clear the next write is a first write again.
        await harness.Storage.WriteStateAsync(StateName, Run, state, Ct);
        Assert.True((await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct)).RecordExists);
    }

    [Fact]
    public async Task A_write_after_another_activation_cleared_is_a_conflict_not_a_resurrection()
    {
        await using var harness = await CreateHarnessAsync();
        await harness.Storage.WriteStateAsync(StateName, Run, new GrainState<TrainingRunSnapshot>(Snapshot("first")), Ct);
        var stale = await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct);
        await harness.Storage.ClearStateAsync(StateName, Run, await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct), Ct);

        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(
            () => harness.Storage.WriteStateAsync(StateName, Run, stale, Ct));

        Assert.Null(conflict.StoredEtag);
        Assert.False((await harness.ReadAsync<TrainingRunSnapshot>(StateName, Run, Ct)).RecordExists);
    }

    [Fact]
    public async Task Grain_types_and_state_names_with_the_same_key_do_not_collide()
    {
        await using var harness = await CreateHarnessAsync();
        GrainId[] grains = [GrainId.Create("run", "shared"), GrainId.Create("experiment", "shared")];
        foreach (var grain in grains)
        {
            foreach (string stateName in (string[])["snapshot", "metrics"])
            {
                var state = new GrainState<TrainingRunSnapshot>(Snapshot($"{grain.Type} {stateName}"));
                await harness.Storage.WriteStateAsync(stateName, grain, state, Ct);
            }
        }

        foreach (var grain in grains)
        {
            foreach (string stateName in (string[])["snapshot", "metrics"])
            {
                Assert.Equal($"{grain.Type} {stateName}", (await harness.ReadAsync<TrainingRunSnapshot>(stateName, grain, Ct)).State!.Name);
            }
        }
        await using var db = harness.NewContext();
        var rows = await db.GrainStates.Select(g => g.GrainType + " " + g.GrainId).ToListAsync(Ct);
        Assert.Equal(["experiment/metrics shared", "experiment/snapshot shared", "run/metrics shared", "run/snapshot shared"], rows.Order());
        Assert.Equal(new GrainStateKey("run/snapshot", "shared"), GrainStateKey.For("snapshot", grains[0]));
    }
}
