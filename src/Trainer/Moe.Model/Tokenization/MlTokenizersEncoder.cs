using System.Text.RegularExpressions;
using Ml = Microsoft.ML.Tokenizers;

namespace Moe.Model.Tokenization;

/// <summary>
/// Microsoft.ML.Tokenizers' byte-level BPE configured like our tokenizer.json: GPT-2's regex, byte-level alphabet, our
/// special tokens split out first. Used to cross-check our encoder and to compare speed (bench/Moe.Bench/TokenizerBench.cs).
/// </summary>
public sealed class MlTokenizersEncoder
{
    readonly Ml.BpeTokenizer _tokenizer;

    MlTokenizersEncoder(Ml.BpeTokenizer tokenizer) => _tokenizer = tokenizer;

    static readonly IReadOnlyDictionary<string, int> Specials =
        SpecialTokens.All.Select((token, id) => (token, id)).ToDictionary(p => p.token, p => p.id);

    static Ml.PreTokenizer Gpt2Regex() => new Ml.RegexPreTokenizer(new Regex(Gpt2PreTokenizer.Pattern, RegexOptions.Compiled), Specials);

    /// <summary>Loads the GPT-2 files <see cref="BpeTokenizer.SaveGpt2Files"/> writes.</summary>
    public static MlTokenizersEncoder FromGpt2Files(string directory) =>
        new(Ml.BpeTokenizer.Create(new Ml.BpeOptions(Path.Combine(directory, "vocab.json"), Path.Combine(directory, "merges.txt"))
        {
            ByteLevel = true,
            PreTokenizer = Gpt2Regex(),
            SpecialTokens = Specials,
        }));

    public static MlTokenizersEncoder FromVocabulary(BpeVocabulary vocabulary) =>
        new(Ml.BpeTokenizer.Create(new Ml.BpeOptions(vocabulary.Tokens.Select((token, id) => KeyValuePair.Create(token, id)))
        {
            Merges = vocabulary.Merges.Select(m => $"{vocabulary.Tokens[m.Left]} {vocabulary.Tokens[m.Right]}").ToList(),
            ByteLevel = true,
            PreTokenizer = Gpt2Regex(),
            SpecialTokens = Specials,
        }));

    public int[] Encode(string text) => [.. _tokenizer.EncodeToIds(text)];
}
