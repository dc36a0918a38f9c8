using Moe.Platform.Tests.Metadata;

namespace Moe.Platform.Tests.GrainStorage;

/// <summary>On the one throwaway PostgreSQL cluster the metadata tests share; each test gets its own database.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresGrainStorageTests(PostgresFixture server) : GrainStorageTests
{
    protected override Task<TestDatabase> CreateDatabaseAsync() =>
        PostgresTestDatabase.CreateAsync(server, TestContext.Current.CancellationToken);
}
