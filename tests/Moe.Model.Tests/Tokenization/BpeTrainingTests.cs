using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Tokenization;

/// <summary>Training: the merges worked out by hand, determinism, the vocabulary's size and layout.</summary>
public class BpeTrainingTests
{
    static string[] MergeStrings(BpeTokenizer tokenizer) =>
        tokenizer.Vocabulary.Merges.Select(m => $"{tokenizer.TokenOf(m.Left)} {tokenizer.TokenOf(m.Right)}").ToArray();

    /// <summary>
    /// Hugging Face's course example: hug x10, pug x5, pun x12, bun x4, hugs x5 (one word a text, so no leading spaces).
    /// Pairs: u g = 10+5+5 = 20, u n = 12+4 = 16, h u = 10+5 = 15; after "u g": h ug = 15, then the rest.
    /// </summary>
    [Fact]
    public void FirstMergesAreTheMostFrequentPairs()
    {
        string[] texts = [.. Enumerable.Repeat("hug", 10), .. Enumerable.Repeat("pug", 5), .. Enumerable.Repeat("pun", 12),
            .. Enumerable.Repeat("bun", 4), .. Enumerable.Repeat("hugs", 5)];
        var tokenizer = BpeTokenizer.Train(texts, SpecialTokens.Count + 256 + 3);
        Assert.Equal(["u g", "u n", "h ug"], MergeStrings(tokenizer));
        Assert.Equal(["hug", "s"], tokenizer.Encode("hugs").Select(tokenizer.TokenOf));
        Assert.Equal(["p", "un"], tokenizer.Encode("pun").Select(tokenizer.TokenOf));
    }

    /// <summary>
    /// "ab ab ab cd" pre-tokenises to ab, Ġab x2, Ġcd. Pairs: a b = 3, Ġ a = 2, Ġ c = 1, c d = 1. After a b: Ġ ab = 2.
    /// Then Ġ c and c d tie at 1: the smaller pair wins (Ġ is byte 0x20, c is 0x63), then Ġc d; then no pair is left.
    /// </summary>
    [Fact]
    public void TiesGoToTheSmallerPairAndTrainingStopsWhenPairsRunOut()
    {
        var tokenizer = BpeTokenizer.Train(["ab ab ab cd"], 5000);
        Assert.Equal(["a b", "Ġ ab", "Ġ c", "Ġc d"], MergeStrings(tokenizer));
        Assert.Equal(SpecialTokens.Count + 256 + 4, tokenizer.VocabSize);
        Assert.Equal(["ab", "Ġab", "Ġab", "Ġcd"], tokenizer.Encode("ab ab ab cd").Select(tokenizer.TokenOf));
    }

    [Fact]
    public void MinPairFrequencyStopsEarly()
    {
        var tokenizer = BpeTokenizer.Train(["ab ab ab cd"], 5000, new BpeTrainingOptions(MinPairFrequency: 2));
        Assert.Equal(["a b", "Ġ ab"], MergeStrings(tokenizer));
    }

    [Fact]
    public void SameTextsGiveIdenticalMerges()
    {
        var first = BpeTokenizer.Train(TokenizerSamples.Corpus, TokenizerSamples.VocabSize);
        var second = BpeTokenizer.Train(TokenizerSamples.Corpus.ToList(), TokenizerSamples.VocabSize);
        Assert.Equal(first.Vocabulary.Merges, second.Vocabulary.Merges);
        Assert.Equal(first.VocabularyHash, second.VocabularyHash);
        Assert.Equal(first.VocabularyHash, TokenizerSamples.Trained.VocabularyHash);
    }

    [Fact]
    public void VocabularyHasTheRequestedSizeWithSpecialsThenBytesThenMerges()
    {
        var tokenizer = TokenizerSamples.Trained;
        Assert.Equal(TokenizerSamples.VocabSize, tokenizer.VocabSize);
        for (var id = 0; id < SpecialTokens.Count; id++) Assert.Equal(SpecialTokens.All[id], tokenizer.TokenOf(id));
        Assert.Equal("!", tokenizer.TokenOf(SpecialTokens.Count + '!'));
        Assert.Equal("Ġ", tokenizer.TokenOf(SpecialTokens.Count + ' '));
        Assert.Equal("Ċ", tokenizer.TokenOf(SpecialTokens.Count + '\n'));
        var merges = tokenizer.Vocabulary.Merges;
        var firstMerged = SpecialTokens.Count + 256;
        Assert.Equal(firstMerged, merges[0].Merged);
        // Each merge's token comes after its parts; new tokens take the next id in merge order.
        Assert.All(merges, m => Assert.True(m.Left < m.Merged && m.Right < m.Merged));
        Assert.Equal(Enumerable.Range(firstMerged, tokenizer.VocabSize - firstMerged), merges.Select(m => m.Merged).Distinct());
    }

    [Fact]
    public void VocabSizeBelowSpecialsPlusBytesIsRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => BpeTokenizer.Train(["abc"], SpecialTokens.Count + 255));
        Assert.Equal("vocabSize", error.ParamName);
        Assert.Contains("256 byte tokens", error.Message);
        Assert.Equal(SpecialTokens.Count + 256, BpeTokenizer.Train(["abc"], SpecialTokens.Count + 256).VocabSize);
    }

    [Fact]
    public void SpecialTokensInTrainingTextAreNotLearned()
    {
        var tokenizer = BpeTokenizer.Train(Enumerable.Repeat($"{SpecialTokens.User}hi{SpecialTokens.EndOfTurn}", 50), 5000);
        Assert.Equal(["h i"], MergeStrings(tokenizer));
    }

    [Fact]
    public void ProgressRisesToOne()
    {
        var reports = new List<double>();
        BpeTokenizer.Train(TokenizerSamples.Corpus, SpecialTokens.Count + 256 + 50, new SynchronousProgress(reports.Add));
        Assert.Equal(0.0, reports[0]);
        Assert.Equal(1.0, reports[^1]);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First <= p.Second));
    }

    sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
