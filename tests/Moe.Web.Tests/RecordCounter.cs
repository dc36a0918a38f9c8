using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Tests;

/// <summary>
/// What a request could have written, counted in one query: the rows of every table a command writes (projects, members,
/// users, API keys, experiments, runs, datasets and versions, schedules, analyses, model versions) and the uploaded files.
/// Background work (training runs writing metrics, checkpoints and grain state) touches none of these.
/// </summary>
public sealed class RecordCounter : IDisposable
{
    static readonly Type[] Tables =
    [
        typeof(Project), typeof(ProjectMember), typeof(User), typeof(ApiKey), typeof(Experiment), typeof(Run), typeof(Dataset),
        typeof(DatasetVersion), typeof(EvaluationSchedule), typeof(RoutingAnalysis), typeof(ModelVersion),
    ];

    readonly SqliteConnection _connection;
    readonly string _query, _uploads;

    public RecordCounter(WebApp app)
    {
        using var db = app.NewDb();
        _query = "SELECT " + string.Join(", ", Tables.Select(t => $"(SELECT COUNT(*) FROM \"{db.Model.FindEntityType(t)!.GetTableName()}\")"));
        _connection = new SqliteConnection($"Data Source={app.DatabasePath};Mode=ReadOnly");
        _connection.Open();
        _uploads = Path.Combine(app.DataDirectory, "artifacts", "objects", "datasets");
    }

    /// <summary>The counts as one comparable line.</summary>
    public string Snapshot()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = _query;
        using var reader = command.ExecuteReader();
        reader.Read();
        var rows = Enumerable.Range(0, Tables.Length).Select(i => $"{Tables[i].Name} {reader.GetInt64(i)}");
        int files = Directory.Exists(_uploads) ? Directory.EnumerateFiles(_uploads, "*", SearchOption.AllDirectories).Count() : 0;
        return string.Join(", ", rows.Append($"uploaded files {files}"));
    }

    public void Dispose() => _connection.Dispose();
}
