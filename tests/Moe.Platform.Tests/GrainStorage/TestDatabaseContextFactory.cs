using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Tests.Metadata;

namespace Moe.Platform.Tests.GrainStorage;

/// <summary>Lets the provider open its short-lived contexts on a test database, as AddDbContextFactory would.</summary>
public sealed class TestDatabaseContextFactory(TestDatabase database) : IDbContextFactory<PlatformDb>
{
    public PlatformDb CreateDbContext() => database.NewContext();
}
