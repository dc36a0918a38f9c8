namespace Moe.Model.Tokenization;

/// <summary>
/// Applies a vocabulary's merges to one pre-tokenised word: repeatedly merge the adjacent pair of lowest rank, leftmost
/// first, as Hugging Face's BPE model does. Short words use a plain rescan; long ones (whitespace runs, long punctuation)
/// a linked list and a heap, so a pathological word costs O(n log n) rather than O(n^2).
/// </summary>
static class BpeWordMerger
{
    const int RescanLimit = 48;

    /// <summary>The ids of <paramref name="word"/> (non-empty) appended to <paramref name="output"/>.</summary>
    public static void Merge(BpeVocabulary vocabulary, ReadOnlySpan<byte> word, List<int> output)
    {
        if (word.Length <= RescanLimit) MergeByRescan(vocabulary, word, output);
        else MergeWithHeap(vocabulary, word, output);
    }

    static void MergeByRescan(BpeVocabulary vocabulary, ReadOnlySpan<byte> word, List<int> output)
    {
        Span<int> symbols = stackalloc int[word.Length];
        for (var i = 0; i < word.Length; i++) symbols[i] = vocabulary.ByteIds[word[i]];
        var count = word.Length;
        var merges = vocabulary.MergeLookup;
        while (count > 1)
        {
            var bestRank = int.MaxValue;
            var bestAt = -1;
            var bestId = 0;
            for (var i = 0; i + 1 < count; i++)
                if (merges.TryGetValue(BpeVocabulary.PairKey(symbols[i], symbols[i + 1]), out var merge) && merge.Rank < bestRank)
                    (bestRank, bestAt, bestId) = (merge.Rank, i, merge.Id);
            if (bestAt < 0) break;

            // Merge every occurrence of the pair, left to right: the same result as one at a time, leftmost first.
            int left = symbols[bestAt], right = symbols[bestAt + 1], write = bestAt;
            for (var read = bestAt; read < count; write++)
            {
                if (read + 1 < count && symbols[read] == left && symbols[read + 1] == right)
                {
                    symbols[write] = bestId;
                    read += 2;
                }
                else symbols[write] = symbols[read++];
            }
            count = write;
        }
        output.AddRange(symbols[..count]);
    }

    static void MergeWithHeap(BpeVocabulary vocabulary, ReadOnlySpan<byte> word, List<int> output)
    {
        var n = word.Length;
        var symbols = new int[n];
        var previous = new int[n];
        var next = new int[n];
        for (var i = 0; i < n; i++) (symbols[i], previous[i], next[i]) = (vocabulary.ByteIds[word[i]], i - 1, i + 1 < n ? i + 1 : -1);

        // Priority: rank, then position, packed in one long so ties go to the leftmost pair.
        var heap = new PriorityQueue<int, long>();
        void Offer(int at)
        {
            if (at >= 0 && next[at] >= 0 && vocabulary.MergeLookup.TryGetValue(BpeVocabulary.PairKey(symbols[at], symbols[next[at]]), out var merge))
                heap.Enqueue(at, ((long)merge.Rank << 32) | (uint)at);
        }
        for (var i = 0; i + 1 < n; i++) Offer(i);

        while (heap.TryDequeue(out var at, out var priority))
        {
            var after = next[at];
            // Stale entries: the position was absorbed, or its pair changed (a pair's rank identifies it).
            if (symbols[at] < 0 || after < 0) continue;
            if (!vocabulary.MergeLookup.TryGetValue(BpeVocabulary.PairKey(symbols[at], symbols[after]), out var merge) || merge.Rank != (int)(priority >> 32)) continue;
            symbols[at] = merge.Id;
            symbols[after] = -1;
            next[at] = next[after];
            if (next[at] >= 0) previous[next[at]] = at;
            Offer(previous[at]);
            Offer(at);
        }
        for (var i = 0; i >= 0; i = next[i]) output.Add(symbols[i]);
    }
}
