using System.Text.Json.Nodes;
using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Tokenization;

/// <summary>tokenizer.json and GPT-2 files: what Python's tokenizers needs, save/load equality, errors naming the problem.</summary>
public class TokenizerFileTests
{
    static BpeTokenizer Tokenizer => TokenizerSamples.Trained;

    [Fact]
    public void SaveThenLoadGivesTheSameIdsAndHash()
    {
        var folder = TokenizerSamples.TempFolder();
        var path = Path.Combine(folder, "tokenizer.json");
        Tokenizer.Save(path);
        var loaded = BpeTokenizer.Load(path);
        Assert.Equal(Tokenizer.VocabularyHash, loaded.VocabularyHash);
        Assert.Equal(File.ReadAllBytes(path), loaded.ToTokenizerJson());
        Assert.Matches("^[0-9a-f]{64}$", loaded.VocabularyHash);
        foreach (var text in TokenizerSamples.Varied) Assert.Equal(Tokenizer.Encode(text), loaded.Encode(text));
        Assert.Equal(["tokenizer.json"], Directory.GetFiles(folder).Select(Path.GetFileName)); // no temp file left behind
    }

    [Fact]
    public void TokenizerJsonHasWhatHuggingFaceLoads()
    {
        var json = JsonNode.Parse(Tokenizer.ToTokenizerJson())!;
        var model = json["model"]!;
        Assert.Equal("BPE", (string?)model["type"]);
        Assert.Null(model["unk_token"]);
        Assert.False((bool)model["byte_fallback"]!);
        var vocab = model["vocab"]!.AsObject();
        Assert.Equal(Tokenizer.VocabSize, vocab.Count);
        Assert.Equal(SpecialTokens.EosId, (int)vocab[SpecialTokens.Eos]!);
        Assert.Equal(SpecialTokens.Count + ' ', (int)vocab["Ġ"]!);
        var merges = model["merges"]!.AsArray();
        Assert.Equal(Tokenizer.Vocabulary.Merges.Count, merges.Count);
        var (left, right, merged) = Tokenizer.Vocabulary.Merges[0];
        Assert.Equal($"{Tokenizer.TokenOf(left)} {Tokenizer.TokenOf(right)}", (string?)merges[0]);
        Assert.Equal(merged, (int)vocab[Tokenizer.TokenOf(left) + Tokenizer.TokenOf(right)]!);

        foreach (var part in new[] { "pre_tokenizer", "decoder" })
        {
            Assert.Equal("ByteLevel", (string?)json[part]!["type"]);
            Assert.False((bool)json[part]!["add_prefix_space"]!);
            Assert.True((bool)json[part]!["use_regex"]!);
        }
        Assert.Null(json["normalizer"]);
        Assert.Null(json["post_processor"]);
        var added = json["added_tokens"]!.AsArray();
        Assert.Equal(SpecialTokens.All, added.Select(t => (string)t!["content"]!));
        Assert.All(added, t => Assert.True((bool)t!["special"]! && !(bool)t["normalized"]!));
        Assert.Equal(Enumerable.Range(0, SpecialTokens.Count), added.Select(t => (int)t!["id"]!));
    }

    [Fact]
    public void LoadAcceptsMergesWrittenAsPairs()
    {
        var json = JsonNode.Parse(Tokenizer.ToTokenizerJson())!;
        var merges = json["model"]!["merges"]!.AsArray();
        var pairs = new JsonArray(merges.Select(m => (JsonNode)new JsonArray(((string)m!).Split(' ').Select(p => (JsonNode)p!).ToArray())).ToArray());
        json["model"]!["merges"] = pairs; // tokenizers >= 0.20 writes [["Ġ", "t"], ...]
        var path = Path.Combine(TokenizerSamples.TempFolder(), "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        Assert.Equal(Tokenizer.VocabularyHash, BpeTokenizer.Load(path).VocabularyHash);
    }

    [Fact]
    public void Gpt2FilesListEveryTokenAndMerge()
    {
        var folder = TokenizerSamples.TempFolder();
        Tokenizer.SaveGpt2Files(folder);
        var vocab = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "vocab.json")))!.AsObject();
        Assert.Equal(Tokenizer.VocabSize, vocab.Count);
        Assert.Equal(SpecialTokens.EosId, (int)vocab[SpecialTokens.Eos]!);
        var lines = File.ReadAllLines(Path.Combine(folder, "merges.txt"));
        Assert.Equal("#version: 0.2", lines[0]);
        Assert.Equal(Tokenizer.Vocabulary.Merges.Count, lines.Length - 1);
        Assert.All(lines.Skip(1), line => Assert.Single(line, ' '));
    }

    public static readonly TheoryData<string, string> Malformed = new()
    {
        { "{ not json", "not valid JSON" },
        { "[]", "JSON object" },
        { """{"model": {"type": "WordPiece", "vocab": {}}}""", "model.type is 'WordPiece'" },
        { """{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}""", "pre_tokenizer must be" },
    };

    [Theory, MemberData(nameof(Malformed))]
    public void MalformedFilesNameTheFileAndTheProblem(string content, string expected)
    {
        var path = Path.Combine(TokenizerSamples.TempFolder(), "tokenizer.json");
        File.WriteAllText(path, content);
        var error = Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("merges", "is not in model.vocab")]
    [InlineData("prefix", "add_prefix_space must be false")]
    [InlineData("special", "not one of the platform's special tokens")]
    [InlineData("ids", "ids must be 0..")]
    public void EditedFilesAreRejectedWithTheReason(string edit, string expected)
    {
        var json = JsonNode.Parse(Tokenizer.ToTokenizerJson())!;
        switch (edit)
        {
            case "merges": json["model"]!["merges"]!.AsArray().Add("Ġ qqqq"); break;
            case "prefix": json["pre_tokenizer"]!["add_prefix_space"] = true; break;
            case "special": json["added_tokens"]![0]!["content"] = "<pad>"; break;
            case "ids": json["model"]!["vocab"]!["Ġ"] = 100_000; break;
        }
        var path = Path.Combine(TokenizerSamples.TempFolder(), "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        var error = Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path));
        Assert.Contains(expected, error.Message);
    }
}
