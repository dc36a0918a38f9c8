using Moe.Platform.Testing;

namespace Moe.Platform.Tests.Metadata;

/// <summary>
/// A throwaway PostgreSQL server for a test class or collection (<see cref="PostgresServer"/> with durability off: tests
/// need speed, not crash safety), stopped and deleted at dispose.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    PostgresServer? _server;

    PostgresServer Server => _server ?? throw new InvalidOperationException("the PostgreSQL server has not started");

    public async ValueTask InitializeAsync() => _server = await PostgresServer.StartAsync(fast: true);

    /// <summary>Connection string of a database of the server, over its unix socket.</summary>
    public string ConnectionString(string database) => Server.ConnectionString(database);

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public Task<string> CreateDatabaseAsync(CancellationToken cancellationToken) => Server.CreateDatabaseAsync("test");

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
