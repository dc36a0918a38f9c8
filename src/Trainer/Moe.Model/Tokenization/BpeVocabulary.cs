using System.Text;

namespace Moe.Model.Tokenization;

/// <summary>
/// The data of a byte-level BPE tokenizer: every id's token, the 256 byte tokens, and the merges in rank order. Ids are
/// dense (0..<see cref="Size"/>-1) and the special tokens hold their fixed ids 0..<see cref="SpecialTokens.Count"/>-1.
/// Trained vocabularies put the bytes next (id Count + byte) and each merge's token after them in merge order; a loaded
/// file may order them differently, so encoding looks ids up rather than computing them.
/// </summary>
public sealed class BpeVocabulary
{
    /// <summary>Each id's token as Hugging Face writes it: the special token's text, else the byte-level spelling.</summary>
    public IReadOnlyList<string> Tokens { get; }
    /// <summary>Each id's bytes (a special token's UTF-8 text).</summary>
    internal byte[][] TokenBytes { get; }
    /// <summary>The id of each byte's single-byte token.</summary>
    internal int[] ByteIds { get; }
    /// <summary>Merges in rank order: left id, right id, merged id.</summary>
    public IReadOnlyList<(int Left, int Right, int Merged)> Merges { get; }
    /// <summary>(left, right) packed by <see cref="PairKey"/> to the merge's rank and merged id.</summary>
    internal Dictionary<long, (int Rank, int Id)> MergeLookup { get; }

    public int Size => Tokens.Count;

    /// <summary>Checked construction; <paramref name="fail"/> builds the exception for a broken invariant.</summary>
    internal BpeVocabulary(IReadOnlyList<string> tokens, IReadOnlyList<(int Left, int Right, int Merged)> merges, Func<string, Exception> fail)
    {
        var count = SpecialTokens.Count;
        if (tokens.Count < count + 256) throw fail($"the vocabulary has {tokens.Count} tokens, fewer than the {count} special tokens and 256 bytes");
        for (var i = 0; i < count; i++)
            if (tokens[i] != SpecialTokens.All[i]) throw fail($"id {i} must be the special token '{SpecialTokens.All[i]}', found '{tokens[i]}'");

        var idOf = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        TokenBytes = new byte[tokens.Count][];
        for (var id = 0; id < tokens.Count; id++)
        {
            if (!idOf.TryAdd(tokens[id], id)) throw fail($"token '{tokens[id]}' has two ids, {idOf[tokens[id]]} and {id}");
            TokenBytes[id] = id < count ? Encoding.UTF8.GetBytes(tokens[id])
                : ByteLevelAlphabet.TryDecode(tokens[id]) ?? throw fail($"token '{tokens[id]}' (id {id}) is not in the byte-level alphabet");
            if (id >= count && TokenBytes[id].Length == 0) throw fail($"id {id} is the empty token");
        }

        ByteIds = new int[256];
        for (var b = 0; b < 256; b++)
        {
            var symbol = ByteLevelAlphabet.CharOf((byte)b).ToString();
            ByteIds[b] = idOf.TryGetValue(symbol, out var id) ? id : throw fail($"the byte token '{symbol}' (byte 0x{b:X2}) is missing");
        }

        MergeLookup = new Dictionary<long, (int, int)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right, merged) = merges[rank];
            if (Math.Min(left, Math.Min(right, merged)) < count || Math.Max(left, Math.Max(right, merged)) >= tokens.Count)
                throw fail($"merge {rank} refers to an id outside the byte and merge tokens");
            if (tokens[merged] != tokens[left] + tokens[right])
                throw fail($"merge {rank} ('{tokens[left]}' '{tokens[right]}') does not produce token {merged} '{tokens[merged]}'");
            if (!MergeLookup.TryAdd(PairKey(left, right), (rank, merged))) throw fail($"merge {rank} ('{tokens[left]}' '{tokens[right]}') is listed twice");
        }
        Tokens = tokens;
        Merges = merges;
    }

    /// <summary>The standard layout of a trained vocabulary: specials, bytes in byte order, then each new merged token.</summary>
    public static BpeVocabulary FromMerges(IReadOnlyList<(int Left, int Right)> merges)
    {
        var tokens = new List<string>(SpecialTokens.Count + 256 + merges.Count);
        tokens.AddRange(SpecialTokens.All);
        for (var b = 0; b < 256; b++) tokens.Add(ByteLevelAlphabet.CharOf((byte)b).ToString());
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < tokens.Count; id++) idOf[tokens[id]] = id;
        var ranked = new List<(int, int, int)>(merges.Count);
        foreach (var (left, right) in merges)
        {
            // Two merge paths can spell the same token ("xa"+"b", "x"+"ab"); like Hugging Face, the later reuses its id.
            var token = tokens[left] + tokens[right];
            if (!idOf.TryGetValue(token, out var merged))
            {
                idOf[token] = merged = tokens.Count;
                tokens.Add(token);
            }
            ranked.Add((left, right, merged));
        }
        return new BpeVocabulary(tokens, ranked, message => new ArgumentException(message, nameof(merges)));
    }

    public bool IsSpecial(int id) => id < SpecialTokens.Count;

    internal static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;
}
