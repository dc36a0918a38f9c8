using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Tests.Fuzz;

namespace Moe.Web.Tests;

/// <summary>
/// What a request could have written, read in one query: per table a command writes (projects, members, users, API keys,
/// experiments, runs, datasets and versions, schedules, manual evaluations, analyses, model versions and aliases) the row
/// count and the highest rowid (so a row written and another deleted still shows), and the number of uploaded files.
/// Background work (trainers' metrics, checkpoints and transitions, grain state, evaluations a cron fires, dataset
/// preparation) writes none of these.
/// </summary>
public sealed class RecordCounter : IRecordProbe, IDisposable
{
    static readonly Type[] Tables =
    [
        typeof(Project), typeof(ProjectMember), typeof(User), typeof(ApiKey), typeof(Experiment), typeof(Run), typeof(Dataset),
        typeof(DatasetVersion), typeof(EvaluationSchedule), typeof(Evaluation), typeof(RoutingAnalysis), typeof(ModelVersion), typeof(ModelAlias),
    ];

    readonly SqliteConnection _connection;
    readonly string _query, _datasets;
    readonly (string Name, string From, string Key)[] _tables;

    public RecordCounter(WebApp app)
    {
        using var db = app.NewDb();
        _tables = Tables.Select(t => Describe(db.Model.FindEntityType(t)!)).ToArray();
        _query = "SELECT " + string.Join(", ", _tables.Select(t => $"(SELECT COUNT(*) {t.From}), (SELECT IFNULL(MAX(rowid), 0) {t.From})"));
        _connection = new SqliteConnection($"Data Source={app.DatabasePath};Mode=ReadOnly");
        _connection.Open();
        _datasets = Path.Combine(app.DataDirectory, "artifacts", "objects", "datasets");
    }

    static (string, string, string) Describe(IEntityType table)
    {
        var from = $"FROM \"{table.GetTableName()}\"";
        // Evaluations a schedule's cron fires (other tests' schedules) appear in the background; requests make manual ones.
        if (table.ClrType == typeof(Evaluation))
            from += $" WHERE \"{table.FindProperty(nameof(Evaluation.Trigger))!.GetColumnName()}\" = 'manual'";
        return (table.ClrType.Name, from, table.FindPrimaryKey()!.Properties[0].GetColumnName());
    }

    /// <summary>The counts now.</summary>
    public RecordSnapshot Snapshot()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = _query;
        using var reader = command.ExecuteReader();
        reader.Read();
        var rows = Enumerable.Range(0, _tables.Length).Select(i => (reader.GetInt64(2 * i), reader.GetInt64(2 * i + 1))).ToArray();
        return new RecordSnapshot(rows, UploadedFiles());
    }

    /// <summary>What was added between the two snapshots ("Dataset +1 (fuzz-20261208-3)", "uploaded files +1"), or null when nothing was.</summary>
    public string? Added(RecordSnapshot before, RecordSnapshot after)
    {
        var added = new List<string>();
        for (int i = 0; i < _tables.Length; i++)
        {
            if (before.Rows[i] == after.Rows[i]) continue;
            var (name, from, key) = _tables[i];
            using var command = _connection.CreateCommand();
            command.CommandText = $"SELECT \"{key}\" {from}{(from.Contains("WHERE") ? " AND" : " WHERE")} rowid > {before.Rows[i].MaxRowId} LIMIT 3";
            using var reader = command.ExecuteReader();
            var keys = new List<string>();
            while (reader.Read()) keys.Add(Convert.ToString(reader.GetValue(0)) ?? "");
            added.Add($"{name} {after.Rows[i].Count - before.Rows[i].Count:+0;-0;0}" + (keys.Count > 0 ? $" ({string.Join(", ", keys)})" : ""));
        }
        if (after.UploadedFiles != before.UploadedFiles) added.Add($"uploaded files {after.UploadedFiles - before.UploadedFiles:+0;-0;0}");
        return added.Count == 0 ? null : string.Join(", ", added);
    }

    /// <summary>Files under datasets/&lt;id&gt;/uploads (what an upload stores before it registers a version); prepared versions are written elsewhere.</summary>
    int UploadedFiles() => !Directory.Exists(_datasets) ? 0
        : Directory.EnumerateDirectories(_datasets).Select(d => Path.Combine(d, "uploads")).Where(Directory.Exists)
            .Sum(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories).Count());

    public void Dispose() => _connection.Dispose();
}

/// <summary>Per table its row count and highest rowid, and the number of uploaded files.</summary>
public sealed record RecordSnapshot((long Count, long MaxRowId)[] Rows, int UploadedFiles)
{
    public bool Equals(RecordSnapshot? other) => other is not null && UploadedFiles == other.UploadedFiles && Rows.SequenceEqual(other.Rows);

    public override int GetHashCode() => HashCode.Combine(UploadedFiles, Rows.Length);
}
