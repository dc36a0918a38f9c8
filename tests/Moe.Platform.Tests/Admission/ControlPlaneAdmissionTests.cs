using Microsoft.EntityFrameworkCore;
using Moe.Platform.Datasets;
using Moe.Platform.Experiments;
using Moe.Platform.Runs;
using Moe.Platform.Tests.Datasets;
using Moe.Platform.Tests.Grains;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Admission;

/// <summary>
/// Experiments and runs through their grains on the real grain storage, whose projections keep the queryable tables in
/// the same transaction: what is accepted lands in both; every refusal names its field and leaves no record anywhere.
/// Run against SQLite and PostgreSQL by the derived classes.
/// </summary>
public abstract class ControlPlaneAdmissionTests(DatabaseCluster platform)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<string> NewExperimentAsync()
    {
        var id = NewId("exp");
        await platform.Client.GetExperiment(id).CreateAsync(new ExperimentSpec($"admission {id}", "a test"));
        return id;
    }

    private static RunSpec ValidSpec(string experiment, string? config = null) => Spec(experiment) with { ConfigJson = config ?? ValidConfig };

    [Fact]
    public async Task An_experiment_is_a_row_and_its_name_is_unique()
    {
        var id = await NewExperimentAsync();
        await using (var db = platform.NewContext())
        {
            var row = await db.Experiments.SingleAsync(e => e.Id == id, Ct);
            Assert.Equal(($"admission {id}", "a test", "default", (DateTime?)null), (row.Name, row.Description, row.Project, row.DeletedAt));
        }

        var taken = await Assert.ThrowsAsync<PlatformException>(
            () => platform.Client.GetExperiment(NewId("other")).CreateAsync(new ExperimentSpec($"admission {id}")));
        Assert.Equal("name", taken.Field);
        var twice = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetExperiment(id).CreateAsync(new ExperimentSpec("x")));
        Assert.Equal("experiment_id", twice.Field);
        var malformed = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetExperiment("Not An Id").CreateAsync(new ExperimentSpec("y")));
        Assert.Equal("experiment_id", malformed.Field);
        await using var check = platform.NewContext();
        Assert.Equal(1, await check.Experiments.CountAsync(e => e.Name == $"admission {id}", Ct));
        Assert.False(await check.Experiments.AnyAsync(e => e.Name == "x" || e.Name == "y", Ct));
    }

    [Fact]
    public async Task A_run_is_a_row_whose_history_is_appended_with_each_transition()
    {
        var experiment = await NewExperimentAsync();
        var runId = NewId("run");
        var run = platform.Client.GetRun(runId);
        await run.CreateAsync(ValidSpec(experiment));
        await run.MarkScheduledAsync("w1");
        await run.MarkRunningAsync();
        await run.AppendMetricsAsync([new(1, "loss", 3.5), new(1, "val_loss", 3.25), new(2, "loss", 3.0)]);
        await run.RequestCancelAsync("user asked");

        await using var db = platform.NewContext();
        var row = await db.Runs.Include(r => r.Transitions).SingleAsync(r => r.Id == runId, Ct);
        Assert.Equal(("Cancelled", experiment, 2L, 3.25, 1), (row.Status, row.ExperimentId, row.LastStep!.Value, row.BestValLoss!.Value, row.CpuSlots));
        Assert.Equal([(0, "Queued", "Scheduled"), (1, "Scheduled", "Running"), (2, "Running", "Cancelled")],
            row.Transitions.OrderBy(t => t.Sequence).Select(t => (t.Sequence, t.From, t.To)));
        Assert.Equal("user asked", row.Transitions.Single(t => t.To == "Cancelled").Reason);
        Assert.NotNull(row.StartedAt);
        Assert.NotNull(row.EndedAt);
        Assert.Equal(2, await db.MetricSamples.CountAsync(s => db.MetricSeries.Any(m => m.Id == s.SeriesId && m.RunId == runId && m.Name == "loss"), Ct));
    }

    [Theory]
    [InlineData("""{"tokenizer":"/t.json","data":{"datasets":[{"name":"d","path":"/d"}]},"training":{"steps":100,"lr":-1}}""", "config.training.lr")]
    [InlineData("""{"tokenizer":"/t.json","data":{"datasets":[]},"training":{"steps":100}}""", "config.data.datasets")]
    [InlineData("""{"model":"configs/tiny.json","tokenizer":"/t.json","data":{"datasets":[{"name":"d","path":"/d"}]}}""", "config.model")]
    [InlineData("""{"tokenizer":"/t.json","data":{"datasets":[{"name":"d","path":"/d"}]},"training":{"steps":100,"seq_len":4096}}""", "config.training.seq_len")]
    [InlineData("""[1, 2]""", "config")]
    [InlineData("""{"tokenizer":""", "config")]
    [InlineData("""{"data":{"datasets":[{"name":"d","path":"dataset:no-such-dataset"}]},"training":{"steps":100}}""", "config.data.datasets[0].path")]
    [InlineData("""{"data":{"datasets":[{"name":"d","path":"dataset:Bad Id@1"}]},"training":{"steps":100}}""", "config.data.datasets[0].path")]
    public async Task An_invalid_run_config_is_refused_naming_its_field_and_nothing_is_stored(string config, string field)
    {
        var experiment = await NewExperimentAsync();
        var runId = NewId("run");

        var refused = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetRun(runId).CreateAsync(ValidSpec(experiment, config)));

        Assert.Equal(field, refused.Field);
        await AssertNothingStoredAsync(runId, experiment);
    }

    [Fact]
    public async Task Runs_in_unknown_or_deleted_experiments_are_refused_and_nothing_is_stored()
    {
        var unknown = NewId("nope");
        var runId = NewId("run");
        var refused = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetRun(runId).CreateAsync(ValidSpec(unknown)));
        Assert.Equal("experiment_id", refused.Field);
        await AssertNothingStoredAsync(runId, experiment: null);

        var deleted = await NewExperimentAsync();
        await platform.Client.GetExperiment(deleted).DeleteAsync();
        var late = NewId("run");
        refused = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetRun(late).CreateAsync(ValidSpec(deleted)));
        Assert.Contains("deleted", refused.Problem);
        await AssertNothingStoredAsync(late, deleted);
    }

    [Fact]
    public async Task Deleting_an_experiment_is_refused_while_a_run_has_not_ended()
    {
        var experiment = await NewExperimentAsync();
        var runId = NewId("run");
        await platform.Client.GetRun(runId).CreateAsync(ValidSpec(experiment));

        var refused = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetExperiment(experiment).DeleteAsync());
        Assert.Equal("experiment_id", refused.Field);
        Assert.Contains(runId, refused.Problem);
        await using (var db = platform.NewContext())
            Assert.Null((await db.Experiments.SingleAsync(e => e.Id == experiment, Ct)).DeletedAt);

        await platform.Client.GetRun(runId).RequestCancelAsync("done with it");
        var deleted = await platform.Client.GetExperiment(experiment).DeleteAsync();

        Assert.NotNull(deleted.DeletedAt);
        Assert.Empty(deleted.ActiveRunIds);
        await using var check = platform.NewContext();
        Assert.NotNull((await check.Experiments.SingleAsync(e => e.Id == experiment, Ct)).DeletedAt);
        Assert.True(await check.Runs.AnyAsync(r => r.Id == runId, Ct)); // its runs stay: models may reference their checkpoints
    }

    [Fact]
    public async Task A_run_on_a_dataset_still_preparing_is_refused_with_the_reason()
    {
        var experiment = await NewExperimentAsync();
        var datasetId = NewId("ds");
        var dataset = platform.Client.GetDataset(datasetId);
        await dataset.CreateAsync(null);
        // Big enough that preparation takes seconds, so the version is still Preparing when the run asks for it.
        var source = await DatasetCorpus.UploadJsonLinesAsync(platform.Artifacts, datasetId, lines: 20_000, seed: 5);
        await dataset.AddVersionAsync(new DatasetVersionRequest([source], TrainTokenizerVocab: 2048));
        var runId = NewId("run");
        var config = $$$"""{"data":{"datasets":[{"name":"d","path":"dataset:{{{datasetId}}}@1"}]},"training":{"steps":100}}""";

        var refused = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetRun(runId).CreateAsync(ValidSpec(experiment, config)));

        Assert.Equal(("config.data.datasets[0].path", $"dataset '{datasetId}' version 1 is still preparing"), (refused.Field, refused.Problem));
        await AssertNothingStoredAsync(runId, experiment);
    }

    private async Task AssertNothingStoredAsync(string runId, string? experiment)
    {
        var missing = await Assert.ThrowsAsync<PlatformException>(() => platform.Client.GetRun(runId).GetAsync());
        Assert.Equal("run_id", missing.Field);
        await using var db = platform.NewContext();
        Assert.False(await db.Runs.AnyAsync(r => r.Id == runId, Ct));
        Assert.False(await db.GrainStates.AnyAsync(g => g.GrainId == runId, Ct));
        if (experiment is not null)
            Assert.Empty((await platform.Client.GetExperiment(experiment).GetAsync()).ActiveRunIds);
    }
}

public sealed class SqliteControlPlaneAdmissionTests(DatabaseCluster platform)
    : ControlPlaneAdmissionTests(platform), IClassFixture<DatabaseCluster>;

public sealed class PostgresControlPlaneAdmissionTests(PostgresDatabaseCluster platform)
    : ControlPlaneAdmissionTests(platform), IClassFixture<PostgresDatabaseCluster>;
