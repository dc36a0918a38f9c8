using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Orleans.TestingHost;

namespace Moe.Platform.Tests.GrainStorage;

/// <summary>The provider inside a real (in-process) silo: a grain's state outlives its activation, in the database.</summary>
public sealed class SiloPersistenceTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Grain_state_survives_deactivation_and_is_a_row_in_the_database()
    {
        string directory = Directory.CreateTempSubdirectory("moe-grainstorage-").FullName;
        string path = Path.Combine(directory, "platform.db");
        try
        {
            await using (var db = new PlatformDb(PlatformDbOptions.Create(null, path))) await db.MigrateAsync(Ct);
            var builder = new TestClusterBuilder(1);
            builder.Properties[SqliteSiloConfigurator.SqlitePathKey] = path;
            builder.AddSiloBuilderConfigurator<SqliteSiloConfigurator>();
            await using var cluster = builder.Build();
            await cluster.DeployAsync(Ct);

            var grain = cluster.GrainFactory.GetGrain<IRunNotesGrain>("r-7");
            await grain.AddAsync("warmup done");
            await grain.AddAsync("loss spike at step 300");
            var (_, firstActivation) = await grain.GetAsync();

            await cluster.DeactivateAsync(grain);
            var (notes, secondActivation) = await grain.GetAsync();

            Assert.NotEqual(firstActivation, secondActivation);
            Assert.Equal(["warmup done", "loss spike at step 300"], notes);
            await using var check = new PlatformDb(PlatformDbOptions.Create(null, path));
            var row = await check.GrainStates.SingleAsync(Ct);
            Assert.Equal(("runnotes/notes", "r-7"), (row.GrainType, row.GrainId));
            // Plain JSON (no Newtonsoft "$type"), so SQL can read it.
            Assert.Equal("""{"Notes":["warmup done","loss spike at step 300"]}""", row.StateJson);
            await cluster.StopAllSilosAsync(Ct);
        }
        finally
        {
            SqliteConnection.ClearAllPools(); // pooled connections keep the file open
            Directory.Delete(directory, recursive: true);
        }
    }
}
