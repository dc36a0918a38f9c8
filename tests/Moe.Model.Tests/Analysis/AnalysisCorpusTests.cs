using System.Text.Json.Nodes;
using Moe.Model.Analysis;
using Moe.Model.Data;
using Moe.Model.Tests.Data;

namespace Moe.Model.Tests.Analysis;

/// <summary>Which documents a routing analysis reads, their groups, and how they become windows.</summary>
public class AnalysisCorpusTests : TempFolderTest
{
    static GroupedDocument Doc(string group, int i) => new($"{group}{i}", group, "f.jsonl", i + 1);

    [Fact]
    public void SelectionSharesDocumentsEvenlyOverGroupsAndSpreadsThemOverEachGroup()
    {
        // Groups c (5), a (10), b (2) in file order; 8 documents wanted. Turns in name order a, b, c:
        // a b c | a b c | a c -> a 3, b 2 (all it has), c 3.
        var docs = Enumerable.Range(0, 5).Select(i => Doc("c", i))
            .Concat(Enumerable.Range(0, 10).Select(i => Doc("a", i)))
            .Concat(Enumerable.Range(0, 2).Select(i => Doc("b", i))).ToList();
        var chosen = AnalysisCorpus.Select(docs, 8);
        // a: floor(i x 10 / 3) = 0, 3, 6; b: both; c: floor(i x 5 / 3) = 0, 1, 3.
        Assert.Equal(["a0", "a3", "a6", "b0", "b1", "c0", "c1", "c3"], chosen.Select(d => d.Text));
    }

    [Fact]
    public void SelectionTakesEverythingWhenThereAreFewerDocumentsThanAsked()
    {
        var docs = new[] { Doc("x", 0), Doc("y", 0), Doc("x", 1) };
        Assert.Equal(["x0", "x1", "y0"], AnalysisCorpus.Select(docs, 100).Select(d => d.Text));
    }

    [Fact]
    public void GroupsComeFromTheNamedFieldOrAreAllWhenItIsMissing()
    {
        var path = Write("docs.jsonl", string.Join("\n",
            """{"text":"one","category":"news"}""",
            "",
            """{"text":"two"}""",
            """{"prompt":"q ","completion":"three","category":7}""",
            """{"text":"four","category":null}""") + "\n");
        var docs = AnalysisCorpus.Read(path, "category");
        Assert.Equal(["one", "two", "q three", "four"], docs.Select(d => d.Text));
        Assert.Equal(["news", "all", "7", "all"], docs.Select(d => d.Group));
        Assert.Equal([1, 3, 4, 5], docs.Select(d => d.Line)); // blank line 2 skipped, as data prepare skips it

        var text = Write("plain.txt", "a whole file");
        Assert.Equal("all", Assert.Single(AnalysisCorpus.Read(text, "category")).Group);
    }

    [Fact]
    public void EachGroupIsOneStreamOfDocumentsAndSeparatorsCutIntoFullWindowsInterleavedAcrossGroups()
    {
        var path = Write("docs.jsonl", string.Join("\n",
            new JsonObject { ["text"] = "abcdefg", ["g"] = "x" }.ToJsonString(),
            new JsonObject { ["text"] = "hij", ["g"] = "y" }.ToJsonString(),
            new JsonObject { ["text"] = "klmnopqrstu", ["g"] = "x" }.ToJsonString(),
            new JsonObject { ["text"] = "vw", ["g"] = "z" }.ToJsonString()));
        // One id per letter (a = 0 ...), separator 99, at most 6 tokens a document, windows of 4.
        var corpus = AnalysisCorpus.Build([path], "g", maxDocs: 10, maxTokensPerDoc: 6, seqLen: 4,
            text => text.Select(c => c - 'a').ToArray(), separator: 99);
        Assert.Equal(["x", "y", "z"], corpus.Groups);
        Assert.Equal(4, corpus.Documents);
        // x: a b c d e f | k l m n o p | -> 0 1 2 3, 4 5 99 10, 11 12 13 14, (15 99 left over)
        // y: h i j | -> 7 8 9 99; z: v w | has 3 tokens, no full window.
        int[][] expected = [[0, 1, 2, 3], [7, 8, 9, 99], [4, 5, 99, 10], [11, 12, 13, 14]];
        Assert.Equal(expected, corpus.Windows.Select(w => w.Tokens));
        Assert.Equal([0, 1, 0, 0], corpus.Windows.Select(w => w.Group));
        Assert.Equal(16, corpus.Tokens);
    }

    [Fact]
    public void UnreadableInputFailsAsDataPrepareWould()
    {
        var path = Write("bad.jsonl", """{"text": oops}""");
        var e = Assert.Throws<DataException>(() => AnalysisCorpus.Read(path, "category"));
        Assert.Contains("bad.jsonl:1: invalid JSON", e.Message);
    }
}
