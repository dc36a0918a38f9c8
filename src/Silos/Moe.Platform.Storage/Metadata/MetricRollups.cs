using System.Data.Common;
using Moe.Platform.Metrics;
using static Moe.Platform.Storage.Metadata.MetricTables;

namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// The pre-aggregated levels of every series (<see cref="MetricRollup"/>): level L holds min, max, last and count per
/// 10^L steps, for L = 1..<see cref="MaxLevel"/>. Ingestion recomputes only the buckets a batch touched, each level
/// from the one below, so its cost follows the batch; a query picks the level whose buckets are at most the
/// requested width and reads at most ten rows per requested point, whatever the series' length.
/// </summary>
static class MetricRollups
{
    public const int MaxLevel = 5;

    public static long Width(int level) => (long)Math.Pow(10, level);

    /// <summary>Recomputes, at every level, the buckets covering <paramref name="fromStep"/>..<paramref name="toStep"/> of these series.</summary>
    public static async Task UpdateAsync(DbConnection connection, DbTransaction transaction, IReadOnlyCollection<long> seriesIds,
        long fromStep, long toStep, CancellationToken cancellationToken)
    {
        string series = string.Join(",", seriesIds); // ids are longs from the database: no injection possible
        for (int level = 1; level <= MaxLevel; level++)
        {
            long width = Width(level);
            long firstBucket = Math.DivRem(fromStep, width, out long r1) - (r1 < 0 ? 1 : 0);
            long lastBucket = Math.DivRem(toStep, width, out long r2) - (r2 < 0 ? 1 : 0);
            // Level 1 from the samples; level L from level L-1, whose buckets b / 10 make bucket b of level L.
            string inner = level == 1
                ? $"""
                  SELECT {SeriesId} AS sid, {Step} / 10 AS b, MIN({Step}) AS fs, MAX({Step}) AS ls, MIN({Value}) AS mn, MAX({Value}) AS mx,
                         COUNT(*) AS n, MAX({Step}) AS last_key
                  FROM {Samples} WHERE {SeriesId} IN ({series}) AND {Step} >= @lo AND {Step} <= @hi GROUP BY {SeriesId}, {Step} / 10
                  """
                : $"""
                  SELECT series_id AS sid, bucket / 10 AS b, MIN(first_step) AS fs, MAX(last_step) AS ls, MIN(min_value) AS mn,
                         MAX(max_value) AS mx, SUM(count) AS n, MAX(bucket) AS last_key
                  FROM {Rollups} WHERE series_id IN ({series}) AND level = {level - 1} AND bucket >= @lo AND bucket <= @hi
                  GROUP BY series_id, bucket / 10
                  """;
            string last = level == 1
                ? $"(SELECT s.{Value} FROM {Samples} s WHERE s.{SeriesId} = g.sid AND s.{Step} = g.last_key)"
                : $"(SELECT c.last_value FROM {Rollups} c WHERE c.series_id = g.sid AND c.level = {level - 1} AND c.bucket = g.last_key)";
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            // "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join.
            command.CommandText = $"""
                INSERT INTO {Rollups} (series_id, level, bucket, first_step, last_step, min_value, max_value, count, last_value)
                SELECT g.sid, {level}, g.b, g.fs, g.ls, g.mn, g.mx, g.n, {last} FROM ({inner}) g WHERE true
                ON CONFLICT (series_id, level, bucket) DO UPDATE SET first_step = excluded.first_step, last_step = excluded.last_step,
                    min_value = excluded.min_value, max_value = excluded.max_value, count = excluded.count, last_value = excluded.last_value
                """;
            // The rows feeding this level: steps for level 1, level-(L-1) buckets otherwise.
            Add(command, "@lo", level == 1 ? firstBucket * width : firstBucket * 10);
            Add(command, "@hi", level == 1 ? lastBucket * width + width - 1 : lastBucket * 10 + 9);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The level-<paramref name="level"/> buckets <paramref name="firstBucket"/>..<paramref name="lastBucket"/> of a series, as buckets.</summary>
    public static async Task<List<MetricBucket>> ReadAsync(DbConnection connection, DbTransaction? transaction, long seriesId, int level,
        long firstBucket, long lastBucket, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT first_step, last_step, min_value, max_value, last_value, count FROM {Rollups}
            WHERE series_id = @series AND level = @level AND bucket >= @lo AND bucket <= @hi ORDER BY bucket
            """;
        Add(command, "@series", seriesId);
        Add(command, "@level", (long)level);
        Add(command, "@lo", firstBucket);
        Add(command, "@hi", lastBucket);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var buckets = new List<MetricBucket>();
        while (await reader.ReadAsync(cancellationToken))
            buckets.Add(new MetricBucket(reader.GetInt64(0), reader.GetInt64(1), ValueOrNaN(reader, 2), ValueOrNaN(reader, 3),
                ValueOrNaN(reader, 4), (int)reader.GetInt64(5)));
        return buckets;
    }

    static double ValueOrNaN(DbDataReader reader, int column) => reader.IsDBNull(column) ? double.NaN : reader.GetDouble(column);

    static void Add(DbCommand command, string name, long value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
