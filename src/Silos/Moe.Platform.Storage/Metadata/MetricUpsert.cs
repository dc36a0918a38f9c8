using System.Data.Common;
using System.Text;
using static Moe.Platform.Storage.Metadata.MetricTables;

namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// Bulk INSERT ... ON CONFLICT DO UPDATE of metric samples, the fastest idempotent write of each provider:
/// PostgreSQL takes the whole batch as three arrays in one statement; SQLite takes prepared multi-row statements.
/// </summary>
static class MetricUpsert
{
    public readonly record struct Row(long SeriesId, long Step, double? Value);

    const string OnConflict =
        $"ON CONFLICT ({SeriesId}, {Step}) DO UPDATE SET {Value} = excluded.{Value}, {RecordedAt} = excluded.{RecordedAt}";

    /// <summary>Rows per SQLite statement: 3 parameters each stays far below SQLite's 32766-parameter limit.</summary>
    const int SqliteRowsPerStatement = 500;

    public static async Task PostgresAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Row> rows,
        DateTime recordedAt, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            $"INSERT INTO {Samples} ({SeriesId}, {Step}, {Value}, {RecordedAt}) " +
            $"SELECT u.s, u.t, u.v, @recorded FROM unnest(@series, @steps, @values) AS u(s, t, v) {OnConflict}";
        Add(command, "@series", rows.Select(r => r.SeriesId).ToArray());
        Add(command, "@steps", rows.Select(r => r.Step).ToArray());
        Add(command, "@values", rows.Select(r => r.Value).ToArray());
        Add(command, "@recorded", recordedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task SqliteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Row> rows,
        DateTime recordedAt, CancellationToken cancellationToken)
    {
        DbCommand? full = null; // reused (prepared once) for every full chunk
        try
        {
            for (int start = 0; start < rows.Count; start += SqliteRowsPerStatement)
            {
                int count = Math.Min(SqliteRowsPerStatement, rows.Count - start);
                DbCommand command = count == SqliteRowsPerStatement
                    ? full ??= SqliteCommand(connection, transaction, count, recordedAt)
                    : SqliteCommand(connection, transaction, count, recordedAt);
                for (int i = 0; i < count; i++)
                {
                    var row = rows[start + i];
                    command.Parameters[3 * i].Value = row.SeriesId;
                    command.Parameters[3 * i + 1].Value = row.Step;
                    command.Parameters[3 * i + 2].Value = row.Value is { } value ? value : DBNull.Value;
                }
                await command.ExecuteNonQueryAsync(cancellationToken);
                if (command != full) await command.DisposeAsync();
            }
        }
        finally
        {
            if (full != null) await full.DisposeAsync();
        }
    }

    static DbCommand SqliteCommand(DbConnection connection, DbTransaction transaction, int rows, DateTime recordedAt)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        var sql = new StringBuilder($"INSERT INTO {Samples} ({SeriesId}, {Step}, {Value}, {RecordedAt}) VALUES ");
        for (int i = 0; i < rows; i++)
        {
            sql.Append(i == 0 ? "" : ",").Append($"(@s{i},@t{i},@v{i},@recorded)");
            Add(command, $"@s{i}", 0L);
            Add(command, $"@t{i}", 0L);
            Add(command, $"@v{i}", DBNull.Value);
        }
        sql.Append(' ').Append(OnConflict);
        Add(command, "@recorded", recordedAt);
        command.CommandText = sql.ToString();
        return command;
    }

    static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
