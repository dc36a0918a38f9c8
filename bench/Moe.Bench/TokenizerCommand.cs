using System.Globalization;
using Moe.Model.Data;

namespace Moe.Bench;

/// <summary><c>tokenizer</c>: <see cref="TokenizerBench"/> on a corpus (plain text, or JSON-lines documents) per vocabulary size.</summary>
static class TokenizerCommand
{
    public static int Run(BenchArgs a)
    {
        var corpus = a.Get("corpus") ?? ".data/corpora/brown.jsonl";
        var sizes = (a.Get("vocab") ?? "4096,8192").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
        var ctx = BenchContext.Create(a);
        if (!File.Exists(corpus)) throw new UsageException($"--corpus: '{corpus}' does not exist (./platform setup fetches Brown; ./platform run converts it)");
        var text = corpus;
        if (corpus.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            text = Path.Combine(Path.GetTempPath(), $"moe-bench-corpus-{Guid.NewGuid():N}.txt");
            File.WriteAllLines(text, DocumentReader.Read(corpus).SelectMany(d => d.Text.Split('\n')));
        }
        try
        {
            foreach (var size in sizes)
            {
                BenchContext.Log($"tokenizer: vocabulary {size} on {corpus}");
                ctx.Emit(TokenizerBench.Run(text, size));
                Console.WriteLine(ctx.Results[^1].ToJsonString(BenchContext.Indented));
            }
        }
        finally { if (text != corpus) File.Delete(text); }
        ctx.Finish();
        return 0;
    }
}
