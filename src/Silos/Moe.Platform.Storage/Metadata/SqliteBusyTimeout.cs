using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// Lets SQLite itself wait for a concurrent writer (grains write from many activations at once). Without a busy
/// timeout SQLite answers SQLITE_BUSY at once and Microsoft.Data.Sqlite retries after sleeping 150 ms, which made a
/// run's creation take about half a second under load (docs/benchmarks.md); SQLite's own handler retries within
/// milliseconds.
/// </summary>
sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    const string Pragma = "PRAGMA busy_timeout = 30000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
