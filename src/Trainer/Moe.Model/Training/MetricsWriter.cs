using Moe.Model.IO;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Model.Training;

/// <summary>
/// Appends one JSON object per line to <c>metrics.jsonl</c> (format in docs/metrics.md), flushed per record so a
/// supervising process can tail it, and optionally echoes each line to another writer (stdout).
/// </summary>
public sealed class MetricsWriter : IDisposable
{
    public const string FileName = "metrics.jsonl";
    static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    readonly StreamWriter file;
    readonly TextWriter? echo;

    public string Path { get; }

    public MetricsWriter(string path, TextWriter? echo = null)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        file = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        this.echo = echo;
    }

    public void Write(JsonObject record)
    {
        var line = record.ToJsonString(Compact);
        file.WriteLine(line);
        file.Flush();
        if (echo is not null)
        {
            echo.WriteLine(line);
            echo.Flush();
        }
    }

    /// <summary>
    /// Before resuming from <paramref name="step"/>: drops the records of later steps that the interrupted run logged after
    /// its last checkpoint, so the file holds every step once. Rewritten atomically.
    /// </summary>
    public static void TruncateAfter(string path, long step)
    {
        if (!File.Exists(path)) return;
        var kept = new StringBuilder();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            long? recordStep = null;
            try { recordStep = JsonNode.Parse(line)?["step"]?.GetValue<long>(); }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { continue; } // a torn last line
            if (recordStep is null || recordStep <= step) kept.Append(line).Append('\n');
        }
        AtomicFile.WriteAllText(path, kept.ToString());
    }

    /// <summary>A metric value: float32 values print in their shortest exact form; NaN and infinities (not JSON) become null.</summary>
    public static JsonNode? Value(float value) => float.IsFinite(value) ? JsonValue.Create(value) : null;

    public static JsonNode? Value(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    public void Dispose() => file.Dispose();
}
