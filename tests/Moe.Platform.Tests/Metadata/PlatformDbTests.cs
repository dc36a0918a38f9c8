using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Tests.Metadata;

/// <summary>The metadata schema, run against each provider by the derived classes (SQLite file, real PostgreSQL).</summary>
public abstract class PlatformDbTests
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<TestDatabase> CreateDatabaseAsync();

    [Fact]
    public async Task Migrations_apply_to_an_empty_database_and_match_the_model()
    {
        await using var database = await CreateDatabaseAsync();
        await using var db = database.NewContext();
        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.NotEmpty(await db.Database.GetPendingMigrationsAsync(Ct));

        await db.MigrateAsync(Ct);

        Assert.Empty(await db.Database.GetPendingMigrationsAsync(Ct));
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync(Ct));
        // The provider's snapshot equals the current model: no change lacks a migration.
        Assert.False(db.Database.HasPendingModelChanges());
        Assert.Equal(0, await db.GrainStates.CountAsync(Ct));
        await db.MigrateAsync(Ct); // idempotent at every start
    }

    [Fact]
    public async Task Entities_round_trip()
    {
        await using var database = await CreateDatabaseAsync();
        var ids = await SeedAsync(database);

        await using var db = database.NewContext();
        var run = await db.Runs.Include(r => r.Experiment).Include(r => r.Transitions).Include(r => r.Checkpoints)
            .SingleAsync(r => r.Id == ids.Run, Ct);
        Assert.Equal("moe-sweep", run.Experiment!.Name);
        Assert.Equal("top2", run.Name);
        Assert.Equal("Running", run.Status);
        Assert.Equal(5, run.Priority);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(ConfigJson), JsonNode.Parse(run.ConfigJson)));
        Assert.Equal(Started, run.StartedAt);
        Assert.Equal(DateTimeKind.Utc, run.CreatedAt.Kind);
        Assert.Equal(2.5, run.BestValLoss);
        Assert.Equal(300, run.LastStep);
        var transition = Assert.Single(run.Transitions);
        Assert.Equal(("Queued", "Running", "scheduled"), (transition.From, transition.To, transition.Reason));
        var checkpoint = Assert.Single(run.Checkpoints);
        Assert.Equal((300L, "runs/top2/step-300", new string('a', 64)), (checkpoint.Step, checkpoint.ArtifactPrefix, checkpoint.ManifestSha256));

        var version = await db.DatasetVersions.Include(v => v.Dataset).SingleAsync(Ct);
        Assert.Equal(("brown", 1, DatasetVersionStatus.Ready, 1_000_000L), (version.Dataset!.Name, version.Version, version.Status, version.TokenCount));
        var alias = await db.ModelAliases.Include(a => a.ModelVersion).ThenInclude(m => m!.Checkpoint).SingleAsync(Ct);
        Assert.Equal(("moe-small", "production", 1, 300L), (alias.ModelName, alias.Alias, alias.ModelVersion!.Version, alias.ModelVersion.Checkpoint!.Step));
        var evaluation = await db.Evaluations.SingleAsync(Ct);
        Assert.Equal((ids.Run, "hellaswag"), (evaluation.RunId!, evaluation.Name));
        Assert.Equal(0.31, JsonNode.Parse(evaluation.ResultsJson)!["accuracy"]!.GetValue<double>());
        var grain = await db.GrainStates.SingleAsync(Ct);
        Assert.Equal(("run", "r1", "{\"a\":1}"), (grain.GrainType, grain.GrainId, grain.StateJson));
        Assert.NotEmpty(grain.ETag);
    }

    [Fact]
    public async Task Experiment_names_are_unique()
    {
        await using var database = await CreateDatabaseAsync();
        await using (var db = await database.MigratedContextAsync(Ct))
        {
            db.Experiments.Add(new Experiment { Id = "one", Name = "same" });
            await db.SaveChangesAsync(Ct);
        }
        await using var other = database.NewContext();
        other.Experiments.Add(new Experiment { Id = "two", Name = "same" });
        await Assert.ThrowsAsync<DbUpdateException>(() => other.SaveChangesAsync(Ct));
    }

    [Fact]
    public async Task A_stale_run_update_is_a_concurrency_conflict()
    {
        await using var database = await CreateDatabaseAsync();
        var ids = await SeedAsync(database);
        await using var first = database.NewContext();
        await using var second = database.NewContext();
        var mine = await first.Runs.SingleAsync(r => r.Id == ids.Run, Ct);
        var theirs = await second.Runs.SingleAsync(r => r.Id == ids.Run, Ct);

        mine.Status = "Cancelling";
        await first.SaveChangesAsync(Ct);
        Assert.Equal(theirs.Version + 1, mine.Version);
        theirs.Status = "Completed";
        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => second.SaveChangesAsync(Ct));

        await using var check = database.NewContext();
        Assert.Equal("Cancelling", (await check.Runs.SingleAsync(r => r.Id == ids.Run, Ct)).Status);
    }

    [Fact]
    public async Task A_grain_write_with_a_stale_etag_is_a_concurrency_conflict()
    {
        await using var database = await CreateDatabaseAsync();
        await SeedAsync(database);
        string staleETag;
        await using (var db = database.NewContext())
        {
            var grain = await db.GrainStates.SingleAsync(Ct);
            staleETag = grain.ETag;
            grain.StateJson = "{\"a\":2}";
            await db.SaveChangesAsync(Ct);
            Assert.NotEqual(staleETag, grain.ETag);
        }
        // How a storage provider writes: attach with the ETag it read, mark modified.
        await using var writer = database.NewContext();
        writer.GrainStates.Update(new GrainState { GrainType = "run", GrainId = "r1", StateJson = "{\"a\":3}", ETag = staleETag });
        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => writer.SaveChangesAsync(Ct));
    }

    [Fact]
    public async Task A_ready_dataset_version_is_immutable()
    {
        await using var database = await CreateDatabaseAsync();
        await SeedAsync(database);
        await using var db = database.NewContext();
        var version = await db.DatasetVersions.SingleAsync(Ct);
        version.TokenCount = 5;
        await Assert.ThrowsAsync<PlatformException>(() => db.SaveChangesAsync(Ct));
    }

    [Fact]
    public async Task A_checkpoint_behind_a_model_version_cannot_be_deleted()
    {
        await using var database = await CreateDatabaseAsync();
        var ids = await SeedAsync(database);
        await using var db = database.NewContext();
        db.Checkpoints.Remove(await db.Checkpoints.SingleAsync(c => c.Id == ids.Checkpoint, Ct));
        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync(Ct));
    }

    protected const string ConfigJson = """{"model": {"moe": {"top_k": 2, "num_experts": 8}}, "training": {"steps": 300}}""";
    static readonly DateTime Started = new(2025, 3, 4, 5, 6, 7, 123, DateTimeKind.Utc);

    protected record SeedIds(string Run, Guid Checkpoint);

    /// <summary>Migrates the database and writes one of every entity.</summary>
    protected static async Task<SeedIds> SeedAsync(TestDatabase database)
    {
        await using var db = await database.MigratedContextAsync(Ct);
        var experiment = new Experiment { Id = "exp-1", Name = "moe-sweep", Description = "top-k sweep" };
        var run = new Run
        {
            Id = "run-1", ExperimentId = experiment.Id, Name = "top2", Status = "Running", Priority = 5, ConfigJson = ConfigJson, Attempt = 1, StartedAt = Started,
            WorkerId = "worker-1", BestValLoss = 2.5, LastStep = 300,
            Transitions = [new RunTransition { RunId = "run-1", From = "Queued", To = "Running", Reason = "scheduled" }],
        };
        experiment.Runs.Add(run);
        var checkpoint = new Checkpoint { RunId = run.Id, ArtifactPrefix = "runs/top2/step-300", ManifestSha256 = new string('a', 64), Step = 300, ValLoss = 2.5 };
        run.Checkpoints.Add(checkpoint);
        var model = new ModelVersion { Name = "moe-small", Version = 1, Checkpoint = checkpoint };
        db.AddRange(experiment, model,
            new ModelAlias { ModelName = "moe-small", Alias = "production", ModelVersion = model },
            new Dataset
            {
                Id = "brown", Name = "brown",
                Versions = [new DatasetVersion { DatasetId = "brown", Version = 1, ArtifactPrefix = "datasets/brown/v1", Status = DatasetVersionStatus.Ready,
                    ContentHash = "c0ffee", TokenCount = 1_000_000, VocabularyHash = "beef" }],
            },
            new Evaluation { ProjectId = Project.DefaultId, RunId = run.Id, Name = "hellaswag", ResultsJson = """{"accuracy": 0.31}""" },
            new GrainState { GrainType = "run", GrainId = "r1", StateJson = "{\"a\":1}" });
        await db.SaveChangesAsync(Ct);
        return new SeedIds(run.Id, checkpoint.Id);
    }
}
