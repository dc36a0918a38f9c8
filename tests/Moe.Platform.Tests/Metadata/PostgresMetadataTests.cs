namespace Moe.Platform.Tests.Metadata;

[Collection(PostgresCollection.Name)]
public sealed class PostgresPlatformDbTests(PostgresFixture server) : PlatformDbTests
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => PostgresTestDatabase.CreateAsync(server, Ct);
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresMetricStoreTests(PostgresFixture server) : MetricStoreTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected override Task<TestDatabase> CreateDatabaseAsync() => PostgresTestDatabase.CreateAsync(server, Ct);
}
