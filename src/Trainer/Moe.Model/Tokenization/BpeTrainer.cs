using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Moe.Model.Tokenization;

/// <summary>
/// Learns byte-level BPE merges: count the pre-tokenised words, then repeatedly merge the most frequent adjacent pair.
/// Pair counts are updated incrementally (only the words holding the merged pair are touched, found through a
/// pair-to-words index) and the best pair comes from a max-heap with lazily corrected counts, so a merge costs time in
/// proportion to the words it changes rather than to the corpus. Ties go to the smaller (left id, right id), so the same
/// texts give the same merges on every run.
/// </summary>
static class BpeTrainer
{
    sealed class Word(int[] symbols, int count)
    {
        public int[] Symbols = symbols;
        public int Length = symbols.Length;
        public readonly int Count = count;
    }

    /// <summary>Higher count first, then the smaller pair key.</summary>
    sealed class BestPairFirst : IComparer<(int Count, long Pair)>
    {
        public static readonly BestPairFirst Instance = new();
        public int Compare((int Count, long Pair) x, (int Count, long Pair) y) =>
            x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Pair.CompareTo(y.Pair);
    }

    public static List<(int Left, int Right)> LearnMerges(IEnumerable<string> texts, int vocabSize, BpeTrainingOptions options, IProgress<double>? progress)
    {
        var words = CountWords(texts);
        progress?.Report(0.0);

        var specials = SpecialTokens.Count;
        var tokenBytes = new List<byte[]>(vocabSize);
        for (var i = 0; i < specials; i++) tokenBytes.Add([]);
        for (var b = 0; b < 256; b++) tokenBytes.Add([(byte)b]);
        var idOfBytes = new Dictionary<byte[], int>(ByteSequenceComparer.Instance);
        for (var id = specials; id < tokenBytes.Count; id++) idOfBytes[tokenBytes[id]] = id;

        var pairCounts = new Dictionary<long, int>();
        var wordsWithPair = new Dictionary<long, List<int>>();
        for (var w = 0; w < words.Count; w++)
        {
            var word = words[w];
            for (var i = 0; i + 1 < word.Length; i++)
            {
                var pair = BpeVocabulary.PairKey(word.Symbols[i], word.Symbols[i + 1]);
                CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += word.Count;
                AddWord(wordsWithPair, pair, w);
            }
        }
        var heap = new PriorityQueue<long, (int Count, long Pair)>(BestPairFirst.Instance);
        foreach (var (pair, count) in pairCounts) heap.Enqueue(pair, (count, pair));

        var merges = new List<(int Left, int Right)>();
        var raised = new HashSet<long>();
        var wanted = vocabSize - tokenBytes.Count;
        var reported = 0;
        while (tokenBytes.Count < vocabSize && heap.TryDequeue(out var best, out var queued))
        {
            var current = pairCounts.GetValueOrDefault(best);
            if (current != queued.Count)
            {
                // Stale: the pair lost occurrences since it was queued; requeue it at its true count.
                if (current > 0) heap.Enqueue(best, (current, best));
                continue;
            }
            if (current < options.MinPairFrequency) break;

            int left = (int)(best >> 32), right = (int)best;
            byte[] merged = [.. tokenBytes[left], .. tokenBytes[right]];
            if (!idOfBytes.TryGetValue(merged, out var mergedId))
            {
                // Two merge paths can spell the same token; the later merge reuses the id (BpeVocabulary.FromMerges agrees).
                idOfBytes[merged] = mergedId = tokenBytes.Count;
                tokenBytes.Add(merged);
            }
            merges.Add((left, right));

            raised.Clear();
            foreach (var w in wordsWithPair[best])
                MergeInWord(words[w], w, left, right, mergedId, pairCounts, wordsWithPair, raised);
            pairCounts.Remove(best);
            wordsWithPair.Remove(best);
            foreach (var pair in raised)
                if (pairCounts.TryGetValue(pair, out var count) && count > 0) heap.Enqueue(pair, (count, pair));

            var done = (int)(100L * (tokenBytes.Count - specials - 256) / Math.Max(1, wanted));
            if (progress is not null && done > reported) progress.Report((reported = done) / 100.0);
        }
        progress?.Report(1.0);
        return merges;
    }

    /// <summary>Replaces (left, right) in one word, left to right, recording how the word's pairs change (as Hugging Face's Word::merge).</summary>
    static void MergeInWord(Word word, int index, int left, int right, int merged,
        Dictionary<long, int> pairCounts, Dictionary<long, List<int>> wordsWithPair, HashSet<long> raised)
    {
        var symbols = word.Symbols;
        var f = word.Count;
        void Change(int a, int b, int delta)
        {
            var pair = BpeVocabulary.PairKey(a, b);
            CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += delta;
            if (delta > 0)
            {
                raised.Add(pair);
                AddWord(wordsWithPair, pair, index);
            }
        }

        var write = 0;
        for (var read = 0; read < word.Length; write++)
        {
            if (read + 1 < word.Length && symbols[read] == left && symbols[read + 1] == right)
            {
                if (write > 0)
                {
                    Change(symbols[write - 1], left, -f);
                    Change(symbols[write - 1], merged, f);
                }
                if (read + 2 < word.Length)
                {
                    Change(right, symbols[read + 2], -f);
                    Change(merged, symbols[read + 2], f);
                }
                symbols[write] = merged;
                read += 2;
            }
            else symbols[write] = symbols[read++];
        }
        word.Length = write;
    }

    static void AddWord(Dictionary<long, List<int>> wordsWithPair, long pair, int word)
    {
        ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(wordsWithPair, pair, out _);
        list ??= [];
        // A word is listed once per pair (it may hold the pair more than once); words are added in increasing order.
        if (list.Count == 0 || list[^1] != word) list.Add(word);
    }

    /// <summary>The distinct words of the texts (special tokens left out) with their counts, as byte-token id sequences.</summary>
    static List<Word> CountWords(IEnumerable<string> texts)
    {
        var counts = new Dictionary<byte[], int>(ByteSequenceComparer.Instance);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<byte>>();
        var buffer = Array.Empty<byte>();
        foreach (var text in texts)
        {
            var size = Encoding.UTF8.GetMaxByteCount(text.Length);
            if (buffer.Length < size)
            {
                if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
                buffer = ArrayPool<byte>.Shared.Rent(size);
            }
            ReadOnlySpan<byte> bytes = buffer.AsSpan(0, Encoding.UTF8.GetBytes(text, buffer));
            for (var from = 0; from < bytes.Length;)
            {
                var special = SpecialTokenMatcher.Find(bytes, from, out _, out var specialLength);
                var segment = bytes[from..(special < 0 ? bytes.Length : special)];
                for (int start = 0, end; start < segment.Length; start = end)
                {
                    end = Gpt2PreTokenizer.WordEnd(segment, start);
                    CollectionsMarshal.GetValueRefOrAddDefault(lookup, segment[start..end], out _)++;
                }
                from = special < 0 ? bytes.Length : special + specialLength;
            }
        }
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);

        var words = new List<Word>(counts.Count);
        foreach (var (word, count) in counts)
            words.Add(new Word(word.Select(b => SpecialTokens.Count + b).ToArray(), count));
        return words;
    }
}
