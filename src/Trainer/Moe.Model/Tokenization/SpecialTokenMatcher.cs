using System.Text;

namespace Moe.Model.Tokenization;

/// <summary>
/// Finds the special tokens in UTF-8 text, leftmost first, as Hugging Face splits on added tokens before pre-tokenising.
/// Every special token starts with '&lt;', so the search jumps between '&lt;' bytes.
/// </summary>
static class SpecialTokenMatcher
{
    static readonly byte[][] Utf8 = SpecialTokens.All.Select(Encoding.UTF8.GetBytes).ToArray();

    /// <summary>The first special token at or after <paramref name="from"/>: its position (-1 if none), id and length.</summary>
    public static int Find(ReadOnlySpan<byte> text, int from, out int id, out int length)
    {
        for (var at = from; at < text.Length; at++)
        {
            var offset = text[at..].IndexOf((byte)'<');
            if (offset < 0) break;
            at += offset;
            var rest = text[at..];
            var best = -1;
            for (var i = 0; i < Utf8.Length; i++)
                if (rest.StartsWith(Utf8[i]) && (best < 0 || Utf8[i].Length > Utf8[best].Length)) best = i;
            if (best >= 0)
            {
                (id, length) = (best, Utf8[best].Length);
                return at;
            }
        }
        (id, length) = (-1, 0);
        return -1;
    }
}
