using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Moe.Platform.Storage.Metadata;

/// <summary>Chooses the metadata database: PostgreSQL when a connection string is given, else a SQLite file.</summary>
public static class PlatformDbOptions
{
    public const string SqliteProvider = "Microsoft.EntityFrameworkCore.Sqlite";
    public const string PostgresProvider = "Npgsql.EntityFrameworkCore.PostgreSQL";
    public const string MigrationsHistoryTable = "ef_migrations_history";

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, string? postgresConnectionString, string sqlitePath)
    {
        if (!string.IsNullOrWhiteSpace(postgresConnectionString))
        {
            builder.UseNpgsql(postgresConnectionString, npgsql => npgsql.MigrationsHistoryTable(MigrationsHistoryTable));
        }
        else
        {
            string fullPath = Path.GetFullPath(sqlitePath);
            Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
            var connection = new SqliteConnectionStringBuilder { DataSource = fullPath, Pooling = true };
            builder.UseSqlite(connection.ToString(), sqlite => sqlite.MigrationsHistoryTable(MigrationsHistoryTable))
                .AddInterceptors(new SqliteBusyTimeout());
        }
        // Both providers' migrations live in this assembly; this picks the set of the provider in use.
        builder.ReplaceService<IMigrationsAssembly, ProviderMigrationsAssembly>();
        return builder;
    }

    /// <summary>Options for a standalone <see cref="PlatformDb"/> (tools, tests, a worker without DI).</summary>
    public static DbContextOptions<PlatformDb> Create(string? postgresConnectionString, string sqlitePath)
    {
        var builder = new DbContextOptionsBuilder<PlatformDb>();
        Configure(builder, postgresConnectionString, sqlitePath);
        return builder.Options;
    }
}
