using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Moe.Model.Tokenization;

namespace Moe.Bench;

/// <summary>
/// Byte-level BPE on a plain-text corpus (one document or sentence a line): training time, then encode throughput of our
/// encoder and of Microsoft.ML.Tokenizers on the same vocabulary (and whether their ids agree), decode throughput and
/// compression. Encoding goes line by line, as dataset preparation does, after one warm-up pass that fills both caches.
/// </summary>
public static class TokenizerBench
{
    public static JsonObject Run(string corpusTextPath, int vocabSize)
    {
        var lines = File.ReadAllLines(corpusTextPath).Where(l => l.Length > 0).ToArray();
        var bytes = lines.Sum(l => (long)Encoding.UTF8.GetByteCount(l));
        var megabytes = bytes / 1e6;

        BpeTokenizer.Train(lines.Take(2000), SpecialTokens.Count + 256 + 100); // compiles the training path before timing it
        var clock = Stopwatch.StartNew();
        var tokenizer = BpeTokenizer.Train(lines, vocabSize);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var merges = tokenizer.Vocabulary.Merges.Count;

        var ours = Time(lines, tokenizer.Encode, out var ourIds);
        var ml = MlTokenizersEncoder.FromVocabulary(tokenizer.Vocabulary);
        var theirs = Time(lines, ml.Encode, out var mlIds);
        var mismatches = Enumerable.Range(0, lines.Length).Count(i => !ourIds[i].AsSpan().SequenceEqual(mlIds[i]));
        var tokens = ourIds.Sum(ids => (long)ids.Length);

        clock.Restart();
        foreach (var ids in ourIds) tokenizer.Decode(ids);
        var decodeSeconds = clock.Elapsed.TotalSeconds;

        return new JsonObject
        {
            ["kind"] = "tokenizer",
            ["corpus"] = corpusTextPath,
            ["corpus_mb"] = Math.Round(megabytes, 2),
            ["lines"] = lines.Length,
            ["vocab_size"] = tokenizer.VocabSize,
            ["merges"] = merges,
            ["train_seconds"] = Math.Round(trainSeconds, 3),
            ["merges_per_second"] = Math.Round(merges / trainSeconds),
            ["encode"] = new JsonObject
            {
                ["ours"] = Rates(megabytes, tokens, ours),
                ["ml_tokenizers"] = Rates(megabytes, mlIds.Sum(ids => (long)ids.Length), theirs),
            },
            ["identical_ids"] = mismatches == 0,
            ["lines_that_differ"] = mismatches,
            ["decode_mb_per_second"] = Math.Round(megabytes / decodeSeconds, 1),
            ["bytes_per_token"] = Math.Round((double)bytes / tokens, 3),
        };
    }

    /// <summary>Seconds for one timed pass over every line, after an untimed warm-up pass.</summary>
    static double Time(string[] lines, Func<string, int[]> encode, out int[][] ids)
    {
        foreach (var line in lines) encode(line);
        ids = new int[lines.Length][];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < lines.Length; i++) ids[i] = encode(lines[i]);
        return clock.Elapsed.TotalSeconds;
    }

    static JsonObject Rates(double megabytes, long tokens, double seconds) => new()
    {
        ["seconds"] = Math.Round(seconds, 3),
        ["mb_per_second"] = Math.Round(megabytes / seconds, 1),
        ["tokens_per_second"] = Math.Round(tokens / seconds),
    };
}
