using System.Text;
using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Tokenization;

/// <summary>Encoding and decoding: exact round trips for text and arbitrary bytes, special tokens, id range checks.</summary>
public class EncodeDecodeTests
{
    static BpeTokenizer Tokenizer => TokenizerSamples.Trained;

    public static readonly TheoryData<string> Texts = new(
        [.. TokenizerSamples.Varied, "", " ", "plain ASCII text", "   \n\t  \r\n", "a", new string('=', 500), string.Concat(Enumerable.Repeat("ab ", 300))]);

    [Theory, MemberData(nameof(Texts))]
    public void TextRoundTrips(string text)
    {
        var ids = Tokenizer.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, Tokenizer.VocabSize - 1));
        Assert.Equal(text, Tokenizer.Decode(ids));
        Assert.Equal(Encoding.UTF8.GetBytes(text), Tokenizer.DecodeBytes(ids));
    }

    [Fact]
    public void RandomBytesRoundTripIncludingInvalidUtf8()
    {
        var random = new Random(1234);
        var invalid = 0;
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 300)];
            random.NextBytes(bytes);
            // Half the strings lean towards ASCII so merges apply; the rest are uniformly random bytes.
            if (i % 2 == 0) for (var j = 0; j < bytes.Length; j++) if (bytes[j] >= 0x80 && random.Next(4) > 0) bytes[j] = (byte)(' ' + bytes[j] % 95);
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) invalid++;
            var ids = Tokenizer.EncodeBytes(bytes);
            Assert.Equal(bytes, Tokenizer.DecodeBytes(ids));
        }
        Assert.True(invalid > 50, $"only {invalid} of the strings were invalid UTF-8");
    }

    [Fact]
    public void LearnedWordsBecomeSingleTokens()
    {
        // " quick" occurs 20 times in the corpus; with 600 merges it is one token.
        var ids = Tokenizer.Encode(" quick");
        Assert.Equal(["Ġquick"], ids.Select(Tokenizer.TokenOf));
        Assert.True(Tokenizer.Encode(TokenizerSamples.Varied[0]).Length < Encoding.UTF8.GetByteCount(TokenizerSamples.Varied[0]) / 3);
    }

    [Fact]
    public void SpecialTokensInTextAreSingleIds()
    {
        var text = ChatTemplate.Render([("user", "What is 6*7?"), ("assistant", $"{SpecialTokens.ThinkStart}six sevens{SpecialTokens.ThinkEnd}42")]) + SpecialTokens.Eos;
        var ids = Tokenizer.Encode(text);
        Assert.Equal(SpecialTokens.IdOf(SpecialTokens.User), ids[0]);
        Assert.Equal(SpecialTokens.EosId, ids[^1]);
        foreach (var special in new[] { SpecialTokens.Assistant, SpecialTokens.EndOfTurn, SpecialTokens.ThinkStart, SpecialTokens.ThinkEnd })
            Assert.Contains(SpecialTokens.IdOf(special), ids);
        Assert.Equal(7, ids.Count(id => id < SpecialTokens.Count)); // user, end, assistant, think, /think, end, eos
        Assert.Equal(text, Tokenizer.Decode(ids));
        // Near misses stay text.
        Assert.DoesNotContain(Tokenizer.Encode("<|eos| <think <|EOS|>"), id => id < SpecialTokens.Count);
    }

    [Fact]
    public void EncodeBytesTreatsSpecialTokenTextAsBytes()
    {
        var ids = Tokenizer.EncodeBytes(Encoding.UTF8.GetBytes(SpecialTokens.Eos));
        Assert.DoesNotContain(SpecialTokens.EosId, ids);
        Assert.Equal(SpecialTokens.Eos, Tokenizer.Decode(ids));
    }

    [Fact]
    public void EveryIdDecodesToItsOwnBytes()
    {
        for (var id = 0; id < Tokenizer.VocabSize; id++)
        {
            var bytes = Tokenizer.DecodeBytes([id]);
            if (id >= SpecialTokens.Count) Assert.Equal(ByteLevelAlphabet.Encode(bytes), Tokenizer.TokenOf(id));
        }
    }

    [Fact]
    public void OutOfRangeIdsAreRejectedByName()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([5, Tokenizer.VocabSize]));
        Assert.Contains($"token id {Tokenizer.VocabSize}", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.DecodeBytes([-1]));
    }

    [Fact]
    public void ConcurrentEncodingAgreesWithSequential()
    {
        var texts = TokenizerSamples.RandomWords(seed: 99, lines: 200).ToArray();
        var fresh = new BpeTokenizer(Tokenizer.Vocabulary);
        var parallel = new int[texts.Length][];
        Parallel.For(0, texts.Length, i => parallel[i] = fresh.Encode(texts[i]));
        for (var i = 0; i < texts.Length; i++) Assert.Equal(Tokenizer.Encode(texts[i]), parallel[i]);
    }
}
