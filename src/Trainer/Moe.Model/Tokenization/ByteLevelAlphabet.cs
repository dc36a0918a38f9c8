namespace Moe.Model.Tokenization;

/// <summary>
/// GPT-2's <c>bytes_to_unicode</c>: every byte as one printable character, so byte-level tokens can be written as JSON
/// strings. Printable Latin-1 bytes map to themselves; the other 68 (controls, space, 0x7F-0xA0, 0xAD) map to U+0100.. in
/// byte order, so space is 'Ġ' (U+0120) and newline 'Ċ' (U+010A), exactly as Hugging Face's ByteLevel writes them.
/// </summary>
public static class ByteLevelAlphabet
{
    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    public static char CharOf(byte value) => ByteToChar[value];

    /// <summary>The byte-level spelling of raw bytes, one character a byte.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes) =>
        string.Create(bytes.Length, bytes.ToArray(), static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++) chars[i] = ByteToChar[source[i]];
        });

    /// <summary>The bytes a byte-level string spells, or null if it has a character outside the alphabet.</summary>
    public static byte[]? TryDecode(string symbol)
    {
        var bytes = new byte[symbol.Length];
        for (var i = 0; i < symbol.Length; i++)
        {
            if (!CharToByte.TryGetValue(symbol[i], out var b)) return null;
            bytes[i] = b;
        }
        return bytes;
    }

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }
}
