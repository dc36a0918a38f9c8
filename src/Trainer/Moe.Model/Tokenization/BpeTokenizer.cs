using Moe.Model.IO;
using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Moe.Model.Data;

namespace Moe.Model.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer as GPT-2 and Hugging Face's ByteLevel define it, trained by the platform
/// (<see cref="Train(IEnumerable{string}, int, IProgress{double}?)"/>) and saved as a standard <c>tokenizer.json</c> that
/// Python's <c>tokenizers</c> loads and encodes identically. Every byte sequence encodes (no unknown token) and decodes back
/// exactly. The special tokens of <see cref="SpecialTokens"/> hold ids 0..Count-1 and are recognised in text by
/// <see cref="Encode"/>. Thread-safe.
/// </summary>
public sealed class BpeTokenizer : ITokenEncoder
{
    const int CachedWordLimit = 64;     // longer words are rare; caching them would mostly fill the cache
    const int CacheCapacity = 1 << 20;  // distinct words; past this the cache stops growing

    readonly ConcurrentDictionary<byte[], int[]> _wordCache = new(ByteSequenceComparer.Instance);
    readonly Lazy<byte[]> _canonicalJson;
    readonly Lazy<string> _hash;

    public BpeVocabulary Vocabulary { get; }
    public int VocabSize => Vocabulary.Size;
    /// <summary>Lower-hex SHA-256 of the canonical <c>tokenizer.json</c> bytes (<see cref="ToTokenizerJson"/>).</summary>
    public string VocabularyHash => _hash.Value;

    public BpeTokenizer(BpeVocabulary vocabulary)
    {
        Vocabulary = vocabulary;
        _canonicalJson = new(() => TokenizerJson.Serialize(vocabulary));
        _hash = new(() => Convert.ToHexStringLower(SHA256.HashData(_canonicalJson.Value)));
    }

    /// <summary>Learns a vocabulary of exactly <paramref name="vocabSize"/> ids (fewer only if the texts run out of pairs).</summary>
    /// <param name="progress">Fraction of the merges done, 0 to 1.</param>
    public static BpeTokenizer Train(IEnumerable<string> texts, int vocabSize, IProgress<double>? progress = null) =>
        Train(texts, vocabSize, BpeTrainingOptions.Default, progress);

    public static BpeTokenizer Train(IEnumerable<string> texts, int vocabSize, BpeTrainingOptions options, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        var minimum = SpecialTokens.Count + 256;
        if (vocabSize < minimum)
            throw new ArgumentException($"vocabSize {vocabSize} is below {minimum}: {SpecialTokens.Count} special tokens and 256 byte tokens come before any merge", nameof(vocabSize));
        if (options.MinPairFrequency < 1)
            throw new ArgumentException($"MinPairFrequency {options.MinPairFrequency} must be at least 1", nameof(options));
        return new(BpeVocabulary.FromMerges(BpeTrainer.LearnMerges(texts, vocabSize, options, progress)));
    }

    /// <summary>Reads a <c>tokenizer.json</c>; <see cref="InvalidDataException"/> names the file and what is wrong or unsupported.</summary>
    public static BpeTokenizer Load(string path) => new(TokenizerJsonReader.Read(path));

    /// <summary>Writes <c>tokenizer.json</c> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllBytes(path, _canonicalJson.Value);

    /// <summary>Writes GPT-2's <c>vocab.json</c> and <c>merges.txt</c> into <paramref name="directory"/>, atomically each.</summary>
    public void SaveGpt2Files(string directory) => TokenizerJson.SaveGpt2Files(Vocabulary, directory);

    /// <summary>The canonical <c>tokenizer.json</c> bytes, as <see cref="Save"/> writes them.</summary>
    public byte[] ToTokenizerJson() => (byte[])_canonicalJson.Value.Clone();

    /// <summary>Text to ids; special token strings in the text become their single ids.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try { return EncodeUtf8(buffer.AsSpan(0, Encoding.UTF8.GetBytes(text, buffer)), recogniseSpecialTokens: true); }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    /// <summary>Any bytes to ids, invalid UTF-8 included; special token strings are encoded as ordinary bytes.</summary>
    public int[] EncodeBytes(ReadOnlySpan<byte> bytes) => EncodeUtf8(bytes, recogniseSpecialTokens: false);

    public byte[] DecodeBytes(ReadOnlySpan<int> ids)
    {
        var length = 0;
        foreach (var id in ids) length += TokenBytesOf(id).Length;
        var bytes = new byte[length];
        var at = 0;
        foreach (var id in ids)
        {
            var token = Vocabulary.TokenBytes[id];
            token.CopyTo(bytes, at);
            at += token.Length;
        }
        return bytes;
    }

    /// <summary>Ids to text; bytes that are not valid UTF-8 (a cut-off character) become U+FFFD, as in Hugging Face.</summary>
    public string Decode(ReadOnlySpan<int> ids) => Encoding.UTF8.GetString(DecodeBytes(ids));

    /// <summary>An id's token as written in <c>tokenizer.json</c> (byte-level spelling, 'Ġ' for space).</summary>
    public string TokenOf(int id)
    {
        TokenBytesOf(id);
        return Vocabulary.Tokens[id];
    }

    byte[] TokenBytesOf(int id) =>
        (uint)id < (uint)Vocabulary.Size ? Vocabulary.TokenBytes[id]
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the vocabulary [0, {Vocabulary.Size})");

    // Our own encoder rather than Microsoft.ML.Tokenizers: both give identical ids on our files (MlTokenizersAgreementTests;
    // all 57k Brown lines in bench/Moe.Bench/TokenizerBench.cs), but ours encodes about 2.5x faster there (23-30 MB/s
    // against 9.6-9.8 MB/s at 4k-8k vocabularies), encodes raw bytes (EncodeBytes) and reads tokenizer.json itself.
    int[] EncodeUtf8(ReadOnlySpan<byte> bytes, bool recogniseSpecialTokens)
    {
        var ids = new List<int>(bytes.Length / 3 + 4);
        for (var from = 0; from < bytes.Length;)
        {
            var special = recogniseSpecialTokens ? SpecialTokenMatcher.Find(bytes, from, out var specialId, out var specialLength) : (specialId = specialLength = -1);
            var segment = bytes[from..(special < 0 ? bytes.Length : special)];
            for (int start = 0, end; start < segment.Length; start = end)
            {
                end = Gpt2PreTokenizer.WordEnd(segment, start);
                EncodeWord(segment[start..end], ids);
            }
            if (special < 0) break;
            ids.Add(specialId);
            from = special + specialLength;
        }
        return [.. ids];
    }

    void EncodeWord(ReadOnlySpan<byte> word, List<int> ids)
    {
        if (word.Length > CachedWordLimit)
        {
            BpeWordMerger.Merge(Vocabulary, word, ids);
            return;
        }
        var cache = _wordCache.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (cache.TryGetValue(word, out var cached))
        {
            ids.AddRange(cached);
            return;
        }
        var first = ids.Count;
        BpeWordMerger.Merge(Vocabulary, word, ids);
        if (_wordCache.Count < CacheCapacity) cache.TryAdd(word, CollectionsMarshal.AsSpan(ids)[first..].ToArray());
    }
}
