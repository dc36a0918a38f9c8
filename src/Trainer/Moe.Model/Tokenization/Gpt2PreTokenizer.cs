using System.Buffers;
using System.Text;

namespace Moe.Model.Tokenization;

/// <summary>
/// GPT-2's pre-tokenisation, <see cref="Pattern"/>, as a hand-written scanner over UTF-8 bytes. It classifies whole code
/// points (the regex in .NET would see a supplementary-plane letter as two surrogates, unlike Hugging Face's engine), it is
/// several times faster than the regex, and it also splits bytes that are not valid UTF-8: each ill-formed sequence counts
/// as one "other" character, like punctuation.
/// </summary>
public static class Gpt2PreTokenizer
{
    /// <summary>The pattern the scanner implements (GPT-2's, used by Hugging Face's ByteLevel with use_regex).</summary>
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    enum CharClass : byte { Letter, Number, Space, Other }

    static readonly CharClass[] AsciiClass = BuildAsciiClass();

    /// <summary>Where the word starting at <paramref name="start"/> ends (exclusive); start &lt; text.Length.</summary>
    public static int WordEnd(ReadOnlySpan<byte> text, int start)
    {
        var first = Classify(text, start, out var firstLength);
        if (text[start] == '\'' && ContractionLength(text, start + 1) is var contraction and > 0) return start + 1 + contraction;
        if (text[start] == ' ' && start + 1 < text.Length)
        {
            // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": one leading space joins the run that follows it.
            var next = Classify(text, start + 1, out _);
            if (next != CharClass.Space) return RunEnd(text, start + 1, next);
        }
        if (first != CharClass.Space) return RunEnd(text, start + firstLength, first);

        // "\s+(?!\S)|\s+": a whitespace run keeps its last character for the word after it, unless it is that character.
        var end = start + firstLength;
        var lastStart = start;
        while (end < text.Length && Classify(text, end, out var length) == CharClass.Space)
        {
            lastStart = end;
            end += length;
        }
        return end == text.Length || lastStart == start ? end : lastStart;
    }

    /// <summary>The words of <paramref name="text"/> as (start, length) in bytes.</summary>
    public static List<(int Start, int Length)> Split(ReadOnlySpan<byte> text)
    {
        var words = new List<(int, int)>();
        for (int start = 0, end; start < text.Length; start = end)
        {
            end = WordEnd(text, start);
            words.Add((start, end - start));
        }
        return words;
    }

    /// <summary>The words of a string, as strings; for tests and inspection.</summary>
    public static List<string> Split(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return Split(bytes).Select(w => Encoding.UTF8.GetString(bytes, w.Start, w.Length)).ToList();
    }

    static int RunEnd(ReadOnlySpan<byte> text, int position, CharClass runClass)
    {
        while (position < text.Length && Classify(text, position, out var length) == runClass) position += length;
        return position;
    }

    static int ContractionLength(ReadOnlySpan<byte> text, int position)
    {
        if (position >= text.Length) return 0;
        var c = text[position];
        if (c is (byte)'s' or (byte)'t' or (byte)'m' or (byte)'d') return 1;
        if (position + 1 >= text.Length) return 0;
        var d = text[position + 1];
        return (c, d) is ((byte)'r', (byte)'e') or ((byte)'v', (byte)'e') or ((byte)'l', (byte)'l') ? 2 : 0;
    }

    static CharClass Classify(ReadOnlySpan<byte> text, int position, out int length)
    {
        var b = text[position];
        if (b < 0x80)
        {
            length = 1;
            return AsciiClass[b];
        }
        if (Rune.DecodeFromUtf8(text[position..], out var rune, out length) != OperationStatus.Done) return CharClass.Other;
        if (Rune.IsLetter(rune)) return CharClass.Letter;
        if (Rune.IsNumber(rune)) return CharClass.Number;
        return Rune.IsWhiteSpace(rune) ? CharClass.Space : CharClass.Other;
    }

    static CharClass[] BuildAsciiClass()
    {
        var classes = new CharClass[128];
        for (var c = 0; c < 128; c++)
            classes[c] = char.IsLetter((char)c) ? CharClass.Letter
                : char.IsNumber((char)c) ? CharClass.Number
                : char.IsWhiteSpace((char)c) ? CharClass.Space
                : CharClass.Other;
        return classes;
    }
}
