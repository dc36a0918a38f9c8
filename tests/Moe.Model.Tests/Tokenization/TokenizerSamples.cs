using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Tokenization;

/// <summary>Texts and one tokenizer trained on them, shared by the tokenization tests (trained once, in milliseconds).</summary>
static class TokenizerSamples
{
    /// <summary>Scripts, emoji (with skin tone and ZWJ), combining marks, contractions, digits and whitespace runs.</summary>
    public static readonly string[] Varied =
    [
        "The quick brown fox jumps over the lazy dog's back; it's 12:45 and we'll've done 3,141 things.",
        "Grüße aus Köln! Ça va? naïve café, São Paulo, Øresund, İstanbul.",
        "Привет, мир! Γειά σου Κόσμε. שלום עולם. مرحبا بالعالم ١٢٣.",
        "日本語のテキストと中文文本，한국어 텍스트。",
        "emoji: 😀👍🏽 👨‍👩‍👧 🇩🇪 ❤️ and e\u0301 a\u0308 n\u0303 (combining marks)",
        "whitespace:  two   three\t\ttabs\n\nnewlines \n  \u00A0nbsp\u3000ideographic   ",
        "code: for (int i = 0; i < n; i++) { sum += a[i] * b[i]; } // done!!!",
        "    indented line\r\n\twith CRLF and trailing space ",
    ];

    /// <summary>Seeded pseudo-words, so training has far more pairs than any test's vocabulary needs.</summary>
    public static IEnumerable<string> RandomWords(int seed, int lines)
    {
        var random = new Random(seed);
        const string letters = "etaoinshrdlucmfwypvbgkjqxz";
        for (var line = 0; line < lines; line++)
            yield return string.Join(' ', Enumerable.Range(0, 12).Select(_ =>
                new string(Enumerable.Range(0, random.Next(1, 9)).Select(_ => letters[(int)Math.Min(25, random.NextDouble() * random.NextDouble() * 30)]).ToArray())));
    }

    public static readonly IReadOnlyList<string> Corpus =
        [.. Enumerable.Repeat(Varied, 20).SelectMany(t => t), .. RandomWords(seed: 7, lines: 300)];

    public const int VocabSize = 267 + 600;

    static readonly Lazy<BpeTokenizer> LazyTrained = new(() => BpeTokenizer.Train(Corpus, VocabSize));
    public static BpeTokenizer Trained => LazyTrained.Value;

    /// <summary>A fresh empty folder under the temp directory.</summary>
    public static string TempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "moe-tokenizer-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
