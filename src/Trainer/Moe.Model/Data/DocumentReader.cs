using System.Text;
using System.Text.Json;
using Moe.Model.Tokenization;

namespace Moe.Model.Data;

/// <summary>One training document and where it came from (<see cref="Line"/> is 1-based; 1 for a whole text file).</summary>
public sealed record SourceDocument(string Text, string File, int Line);

/// <summary>
/// Reads training documents. Formats, chosen by extension:
/// <list type="bullet">
/// <item><c>.txt</c>, <c>.text</c>, <c>.md</c>: the whole file is one document.</item>
/// <item><c>.jsonl</c>, <c>.ndjson</c>: one JSON object a line (blank lines skipped), each one of
/// <c>{"text"}</c>, <c>{"prompt","completion"}</c> (prompt followed by completion), or
/// <c>{"messages":[{"role","content"}]}</c> (rendered by <see cref="ChatTemplate.Render"/>; roles system, user, assistant).</item>
/// </list>
/// Anything else, an empty file, invalid JSON or a missing field throws <see cref="DataException"/> naming file and line.
/// </summary>
public static class DocumentReader
{
    static readonly string[] TextExtensions = [".txt", ".text", ".md"];
    static readonly string[] JsonLinesExtensions = [".jsonl", ".ndjson"];
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static IReadOnlyList<SourceDocument> Read(string path)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (TextExtensions.Contains(ext)) return [ReadText(path)];
        if (JsonLinesExtensions.Contains(ext)) return ReadJsonLines(path);
        throw new DataException(path, 0, $"unknown format '{ext}' (expected one of {string.Join(", ", TextExtensions.Concat(JsonLinesExtensions))})");
    }

    static string Decode(string path, byte[] bytes)
    {
        try { return StrictUtf8.GetString(bytes).TrimStart('\uFEFF'); }
        catch (DecoderFallbackException e) { throw new DataException(path, FirstInvalidLine(bytes), "is not valid UTF-8", e); }
    }

    /// <summary>The 1-based line holding the first byte sequence that is not UTF-8.</summary>
    static int FirstInvalidLine(byte[] bytes)
    {
        var line = 1;
        var rest = bytes.AsSpan();
        while (rest.Length > 0)
        {
            var end = rest.IndexOf((byte)'\n');
            var current = end < 0 ? rest : rest[..end];
            if (!System.Text.Unicode.Utf8.IsValid(current)) return line;
            if (end < 0) break;
            rest = rest[(end + 1)..];
            line++;
        }
        return 0;
    }

    static SourceDocument ReadText(string path)
    {
        var text = Decode(path, File.ReadAllBytes(path));
        if (string.IsNullOrWhiteSpace(text)) throw new DataException(path, 1, "file is empty");
        return new SourceDocument(text, path, 1);
    }

    static List<SourceDocument> ReadJsonLines(string path)
    {
        var text = Decode(path, File.ReadAllBytes(path));
        var docs = new List<SourceDocument>();
        var lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            docs.Add(new SourceDocument(ParseRecord(path, lineNo, line), path, lineNo));
        }
        if (docs.Count == 0) throw new DataException(path, 1, "file is empty (no JSON records)");
        return docs;
    }

    static string ParseRecord(string path, int line, string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new DataException(path, line, $"invalid JSON ({e.Message})", e); }
        using var owned = doc;
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new DataException(path, line, $"expected a JSON object, found {root.ValueKind}");
        if (root.TryGetProperty("text", out var t)) return NonEmpty(path, line, "text", t);
        if (root.TryGetProperty("messages", out var messages))
        {
            if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
                throw new DataException(path, line, "field 'messages' must be a non-empty array");
            var turns = new List<(string, string)>();
            var i = 0;
            foreach (var m in messages.EnumerateArray())
            {
                if (m.ValueKind != JsonValueKind.Object) throw new DataException(path, line, $"messages[{i}] is not an object");
                if (!m.TryGetProperty("role", out var role)) throw new DataException(path, line, $"messages[{i}] is missing field 'role'");
                if (!m.TryGetProperty("content", out var content)) throw new DataException(path, line, $"messages[{i}] is missing field 'content'");
                var roleName = NonEmpty(path, line, $"messages[{i}].role", role);
                if (!ChatTemplate.Roles.Contains(roleName))
                    throw new DataException(path, line, $"messages[{i}] has unknown role '{roleName}' (expected one of {string.Join(", ", ChatTemplate.Roles)})");
                turns.Add((roleName, StringField(path, line, $"messages[{i}].content", content)));
                i++;
            }
            return ChatTemplate.Render(turns);
        }
        if (root.TryGetProperty("prompt", out var prompt) || root.TryGetProperty("completion", out _))
        {
            if (prompt.ValueKind == JsonValueKind.Undefined) throw new DataException(path, line, "missing field 'prompt'");
            if (!root.TryGetProperty("completion", out var completion)) throw new DataException(path, line, "missing field 'completion'");
            var text = StringField(path, line, "prompt", prompt) + StringField(path, line, "completion", completion);
            if (text.Length == 0) throw new DataException(path, line, "prompt and completion are both empty");
            return text;
        }
        throw new DataException(path, line, "missing field 'text' (or 'prompt'/'completion', or 'messages')");
    }

    static string StringField(string path, int line, string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()!
            : throw new DataException(path, line, $"field '{name}' must be a string, found {value.ValueKind}");

    static string NonEmpty(string path, int line, string name, JsonElement value)
    {
        var s = StringField(path, line, name, value);
        return s.Length > 0 ? s : throw new DataException(path, line, $"field '{name}' is empty");
    }
}
