using System.Text.Json;
using Moe.Model.Data;

namespace Moe.Model.Analysis;

/// <summary>A document to analyse and the group (domain) it belongs to.</summary>
public sealed record GroupedDocument(string Text, string Group, string File, int Line);

/// <summary>A run of consecutive tokens of one group's stream, fed to the model as one sequence.</summary>
public sealed record AnalysisWindow(int Group, int[] Tokens);

/// <summary>
/// The token windows a routing analysis runs over, built deterministically (docs/routing-analysis.md):
/// <list type="number">
/// <item>Documents are read as <c>data prepare</c> reads them; each one's group is the value of a field of its JSON
/// record (strings as they are, other values as their JSON text), or <see cref="NoGroup"/> when it has none.</item>
/// <item>Up to max-docs documents are chosen evenly over the groups: each group in turn (ordinal name order) gets one more
/// until the total is reached or every group is used up, so small groups are all in and large ones share the rest.
/// A group with n documents and quota m contributes documents floor(i n / m), i = 0..m-1, spread over its file order.</item>
/// <item>Each chosen document is tokenised, cut to max-tokens-per-doc, and followed by the document separator, as
/// training streams join documents; each group's documents form one stream, cut into windows of seq_len tokens. The
/// last, shorter piece of each stream is left out: a forward over a few leftover tokens would have its own, unrepresentative
/// capacity. A group with fewer than seq_len tokens therefore contributes no window (its statistics read 0 tokens).</item>
/// <item>Full windows are interleaved across groups (one of each group in turn), so a batch mixes domains as a training
/// batch does.</item>
/// </list>
/// </summary>
public sealed record AnalysisCorpus(IReadOnlyList<string> Groups, int Documents, IReadOnlyList<AnalysisWindow> Windows)
{
    public const string NoGroup = "all";

    public long Tokens => Windows.Sum(w => (long)w.Tokens.Length);

    public static AnalysisCorpus Build(
        IReadOnlyList<string> inputs, string groupField, int maxDocs, int maxTokensPerDoc, int seqLen, Func<string, int[]> encode, int separator)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDocs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokensPerDoc, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(seqLen, 1);
        var chosen = Select(inputs.SelectMany(path => Read(path, groupField)).ToList(), maxDocs);
        var groups = chosen.Select(d => d.Group).Distinct().Order(StringComparer.Ordinal).ToList();
        var full = new List<List<AnalysisWindow>>();
        for (var g = 0; g < groups.Count; g++)
        {
            var stream = new List<int>();
            foreach (var doc in chosen.Where(d => d.Group == groups[g]))
            {
                stream.AddRange(encode(doc.Text).Take(maxTokensPerDoc));
                stream.Add(separator);
            }
            full.Add(stream.Chunk(seqLen).Where(c => c.Length == seqLen).Select(c => new AnalysisWindow(g, c)).ToList());
        }
        var interleaved = Enumerable.Range(0, full.Max(w => w.Count)).SelectMany(i => full.Where(w => i < w.Count).Select(w => w[i]));
        return new AnalysisCorpus(groups, chosen.Count, interleaved.ToList());
    }

    /// <summary>Documents with their groups; the text comes from <see cref="DocumentReader"/> (same formats and errors).</summary>
    public static IReadOnlyList<GroupedDocument> Read(string path, string groupField)
    {
        var docs = DocumentReader.Read(path);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".jsonl" or ".ndjson")) return docs.Select(d => new GroupedDocument(d.Text, NoGroup, d.File, d.Line)).ToList();
        // DocumentReader has validated every record; read the field from the same lines it numbered.
        var lines = File.ReadAllText(path).Split('\n');
        return docs.Select(d => new GroupedDocument(d.Text, GroupOf(lines[d.Line - 1], groupField), d.File, d.Line)).ToList();
    }

    static string GroupOf(string line, string field)
    {
        using var record = JsonDocument.Parse(line);
        if (!record.RootElement.TryGetProperty(field, out var value)) return NoGroup;
        return value.ValueKind switch
        {
            JsonValueKind.String when value.GetString() is { Length: > 0 } s => s,
            JsonValueKind.String or JsonValueKind.Null => NoGroup,
            _ => value.GetRawText(),
        };
    }

    /// <summary>Up to <paramref name="maxDocs"/> documents spread evenly over groups and, inside each, over file order.</summary>
    public static IReadOnlyList<GroupedDocument> Select(IReadOnlyList<GroupedDocument> documents, int maxDocs)
    {
        var groups = documents.GroupBy(d => d.Group).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToList()).ToList();
        var quota = new int[groups.Count];
        for (var total = 0; total < maxDocs;)
        {
            var before = total;
            for (var g = 0; g < groups.Count && total < maxDocs; g++)
                if (quota[g] < groups[g].Count) { quota[g]++; total++; }
            if (total == before) break; // every group used up
        }
        return groups.SelectMany((docs, g) => Enumerable.Range(0, quota[g]).Select(i => docs[(int)((long)i * docs.Count / quota[g])])).ToList();
    }
}
