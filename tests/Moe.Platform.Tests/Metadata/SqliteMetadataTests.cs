namespace Moe.Platform.Tests.Metadata;

public sealed class SqlitePlatformDbTests : PlatformDbTests
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult<TestDatabase>(new SqliteTestDatabase());
}

public sealed class SqliteMetricStoreTests : MetricStoreTests
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult<TestDatabase>(new SqliteTestDatabase());
}
