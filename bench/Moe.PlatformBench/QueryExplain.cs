using Microsoft.EntityFrameworkCore;

namespace Moe.PlatformBench;

/// <summary>
/// Diagnostic for <c>query --explain</c>: each backend's plan of the query that groups raw samples into buckets, as
/// MetricStore.ReadBucketsAsync writes it (copied on 2026-11-23 with literal values; if MetricStore's SQL changes, this
/// copy is stale). MetricStore uses it for spans shorter than 10 x maxPoints (no rollup level fits) and for the partial
/// buckets at a range's ends. PostgreSQL: EXPLAIN (ANALYZE, BUFFERS); SQLite: EXPLAIN QUERY PLAN.
/// </summary>
public static class QueryExplain
{
    public static async Task PrintAsync(BenchDatabase database, string runId, long first, long last, int maxPoints)
    {
        await using var db = database.NewContext();
        long series = await db.MetricSeries.Where(s => s.RunId == runId && s.Name == "loss").Select(s => s.Id).SingleAsync();
        await db.Database.OpenConnectionAsync();
        string sql = $"""
            SELECT g.first_step, g.last_step, g.min_value, g.max_value, s.value, g.n
            FROM (SELECT (step - {first}) * {maxPoints} / {last - first + 1} AS bucket, MIN(step) AS first_step, MAX(step) AS last_step,
                         MIN(value) AS min_value, MAX(value) AS max_value, COUNT(*) AS n
                  FROM metric_samples WHERE series_id = {series} AND step >= {first} AND step <= {last}
                  GROUP BY 1) g
            JOIN metric_samples s ON s.series_id = {series} AND s.step = g.last_step
            ORDER BY g.bucket
            """;
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = (database.Backend == Backend.Postgres ? "EXPLAIN (ANALYZE, BUFFERS) " : "EXPLAIN QUERY PLAN ") + sql;
        await using var reader = await command.ExecuteReaderAsync();
        Console.WriteLine($"--- {database.Label}, bucket query over steps {first}..{last} -> {maxPoints}:");
        while (await reader.ReadAsync())
            Console.WriteLine("    " + string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i)?.ToString())));
    }
}
