using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// The migrations of the active provider only: SQLite and PostgreSQL differ in column types (jsonb, timestamptz)
/// and in generated SQL, so each has its own set, told apart by namespace (…Migrations.Sqlite / …Migrations.Postgres).
/// EF's default would mix both sets because they share one assembly and one context type.
/// </summary>
public sealed class ProviderMigrationsAssembly : IMigrationsAssembly
{
    readonly Type _contextType;
    readonly string _namespace;
    readonly Lazy<IReadOnlyDictionary<string, TypeInfo>> _migrations;
    readonly Lazy<ModelSnapshot?> _snapshot;

    public ProviderMigrationsAssembly(ICurrentDbContext currentContext, IDatabaseProvider provider)
    {
        _contextType = currentContext.Context.GetType();
        _namespace = MigrationsNamespace(provider.Name);
        Assembly = typeof(PlatformDb).Assembly;
        _migrations = new(FindMigrations);
        _snapshot = new(FindSnapshot);
    }

    /// <summary>Namespace holding the migrations of a provider (also where new migrations are scaffolded).</summary>
    public static string MigrationsNamespace(string providerName) => providerName switch
    {
        PlatformDbOptions.SqliteProvider => "Moe.Platform.Storage.Metadata.Migrations.Sqlite",
        PlatformDbOptions.PostgresProvider => "Moe.Platform.Storage.Metadata.Migrations.Postgres",
        _ => throw new NotSupportedException($"no metadata migrations for database provider {providerName}"),
    };

    public Assembly Assembly { get; }
    public IReadOnlyDictionary<string, TypeInfo> Migrations => _migrations.Value;
    public ModelSnapshot? ModelSnapshot => _snapshot.Value;

    public string? FindMigrationId(string nameOrId) => Migrations.Keys.FirstOrDefault(id =>
        string.Equals(id, nameOrId, StringComparison.OrdinalIgnoreCase)
        || string.Equals(id[(id.IndexOf('_') + 1)..], nameOrId, StringComparison.OrdinalIgnoreCase));

    public Migration CreateMigration(TypeInfo migrationClass, string activeProvider)
    {
        var migration = (Migration)Activator.CreateInstance(migrationClass.AsType())!;
        migration.ActiveProvider = activeProvider;
        return migration;
    }

    IEnumerable<TypeInfo> OwnTypes() => Assembly.DefinedTypes.Where(t =>
        t.Namespace == _namespace && !t.IsAbstract
        && t.GetCustomAttribute<DbContextAttribute>()?.ContextType.IsAssignableFrom(_contextType) == true);

    IReadOnlyDictionary<string, TypeInfo> FindMigrations() => OwnTypes()
        .Where(t => t.IsSubclassOf(typeof(Migration)) && t.GetCustomAttribute<MigrationAttribute>() != null)
        .ToDictionary(t => t.GetCustomAttribute<MigrationAttribute>()!.Id, t => t)
        .Aggregate(new SortedList<string, TypeInfo>(StringComparer.Ordinal), (sorted, m) => { sorted.Add(m.Key, m.Value); return sorted; });

    ModelSnapshot? FindSnapshot() => OwnTypes()
        .Where(t => t.IsSubclassOf(typeof(ModelSnapshot)))
        .Select(t => (ModelSnapshot)Activator.CreateInstance(t.AsType())!)
        .FirstOrDefault();
}
