using System.Text.RegularExpressions;
using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Tokenization;

/// <summary>The hand-written scanner splits exactly as GPT-2's regex does.</summary>
public class Gpt2PreTokenizerTests
{
    static readonly Regex Gpt2 = new(Gpt2PreTokenizer.Pattern);

    static List<string> RegexSplit(string text) => Gpt2.Matches(text).Select(m => m.Value).ToList();

    [Theory]
    [InlineData("Hello world", new[] { "Hello", " world" })]
    [InlineData("it's we'll they're", new[] { "it", "'s", " we", "'ll", " they", "'re" })]
    [InlineData("a   b", new[] { "a", "  ", " b" })]
    [InlineData("a \tb", new[] { "a", " ", "\t", "b" })]
    [InlineData("x  ", new[] { "x", "  " })]
    [InlineData("12ab!!", new[] { "12", "ab", "!!" })]
    public void SplitsLikeTheRegex(string text, string[] words)
    {
        Assert.Equal(words, Gpt2PreTokenizer.Split(text));
        Assert.Equal(words, RegexSplit(text));
    }

    /// <summary>Random strings over the characters each rule of the pattern looks at (BMP only: see the next test).</summary>
    [Fact]
    public void AgreesWithTheRegexOnRandomText()
    {
        var random = new Random(42);
        const string alphabet = "aZ1\u0663 \t\n\r'strevldm!.,\u00E9\u0436\u4E2D\u00A0\u3000\u0301<|>";
        for (var i = 0; i < 500; i++)
        {
            var text = new string(Enumerable.Range(0, random.Next(0, 30)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            Assert.Equal(RegexSplit(text), Gpt2PreTokenizer.Split(text));
        }
    }

    /// <summary>
    /// .NET's regex sees a supplementary-plane letter as two surrogates; the scanner, like Hugging Face's engine, sees one
    /// letter, so "𝐀𝐁c" is one word.
    /// </summary>
    [Fact]
    public void SupplementaryLettersAreLetters()
    {
        Assert.Equal(["\U0001D400\U0001D401c", " \U00020000"], Gpt2PreTokenizer.Split("\U0001D400\U0001D401c \U00020000"));
    }

    [Fact]
    public void InvalidUtf8IsSplitLikePunctuation()
    {
        byte[] bytes = [(byte)'a', 0xFF, 0xC3, (byte)'b', (byte)' ', 0x80, 0x80];
        Assert.Equal([(0, 1), (1, 2), (3, 1), (4, 3)], Gpt2PreTokenizer.Split(bytes));
    }

    [Fact]
    public void EverySpecialTokenStartsWithAngleBracket() =>
        // SpecialTokenMatcher jumps between '<' bytes.
        Assert.All(SpecialTokens.All, token => Assert.StartsWith("<", token));
}
