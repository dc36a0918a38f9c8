using Moe.Platform.Tests.Metadata;

namespace Moe.Platform.Tests.GrainStorage;

public sealed class SqliteGrainStorageTests : GrainStorageTests
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult<TestDatabase>(new SqliteTestDatabase());
}
