using Microsoft.Data.Sqlite;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Tests.Metadata;

/// <summary>A fresh, empty metadata database of one provider; each <see cref="NewContext"/> is an independent session.</summary>
public abstract class TestDatabase : IAsyncDisposable
{
    public abstract PlatformDb NewContext();

    /// <summary>A new context on a migrated database.</summary>
    public async Task<PlatformDb> MigratedContextAsync(CancellationToken cancellationToken)
    {
        var db = NewContext();
        await db.MigrateAsync(cancellationToken);
        return db;
    }

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public sealed class SqliteTestDatabase : TestDatabase
{
    readonly string _directory = Directory.CreateTempSubdirectory("moe-metadata-").FullName;

    string Path => System.IO.Path.Combine(_directory, "platform.db");

    public override PlatformDb NewContext() => new(PlatformDbOptions.Create(null, Path));

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools(); // pooled connections keep the file open
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

public sealed class PostgresTestDatabase(string connectionString) : TestDatabase
{
    public static async Task<TestDatabase> CreateAsync(PostgresFixture server, CancellationToken cancellationToken) =>
        new PostgresTestDatabase(await server.CreateDatabaseAsync(cancellationToken));

    public override PlatformDb NewContext() => new(PlatformDbOptions.Create(connectionString, "unused.db"));
}
