using System.Diagnostics;
using System.Globalization;
using Moe.Model.Data;
using Moe.Model.Tokenization;
using Spectre.Console;

namespace Moe.Trainer;

/// <summary><c>moe-trainer tokenizer train|encode</c>.</summary>
public static class TokenizerCommand
{
    public static int Run(string[] args) => args switch
    {
        ["train", .. var rest] => Train(CommandArgs.Parse(rest)),
        ["encode", .. var rest] => Encode(CommandArgs.Parse(rest)),
        _ => throw new UsageException("tokenizer needs a subcommand: train or encode"),
    };

    /// <summary>Learns a byte-level BPE vocabulary from documents (text or JSON-lines files) and saves tokenizer.json.</summary>
    static int Train(CommandArgs args)
    {
        var inputs = CommandArgs.Paths(args.Require("input"), "input");
        var vocab = args.Int("vocab", 4096, min: SpecialTokens.Count + 256);
        var output = args.Require("out");
        args.RejectUnknown();
        if (Directory.Exists(output)) output = Path.Combine(output, "tokenizer.json");

        var texts = inputs.SelectMany(DocumentReader.Read).Select(d => d.Text).ToList();
        var watch = Stopwatch.StartNew();
        BpeTokenizer tokenizer;
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
            tokenizer = AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask($"training a {vocab}-token BPE", maxValue: 1);
                return BpeTokenizer.Train(texts, vocab, new Progress<double>(p => task.Value = p));
            });
        else tokenizer = BpeTokenizer.Train(texts, vocab);
        tokenizer.Save(output);
        var bytes = texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tokenizer: {tokenizer.VocabSize} tokens from {texts.Count} documents ({bytes / 1e6:F1} MB) in {watch.Elapsed.TotalSeconds:F1} s -> {Path.GetFullPath(output)} (sha256 {tokenizer.VocabularyHash[..12]})"));
        return 0;
    }

    /// <summary>Prints the ids of a text (and the tokens they stand for): a quick look at how text splits.</summary>
    static int Encode(CommandArgs args)
    {
        var tokenizer = BpeTokenizer.Load(args.Require("tokenizer"));
        var text = args.Require("text");
        args.RejectUnknown();
        var ids = tokenizer.Encode(text);
        Console.WriteLine(string.Join(" ", ids));
        Console.WriteLine(string.Join(" | ", ids.Select(tokenizer.TokenOf)));
        return 0;
    }
}
