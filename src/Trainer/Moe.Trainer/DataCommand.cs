using System.Diagnostics;
using System.Globalization;
using Moe.Model.Data;
using Moe.Model.Tokenization;

namespace Moe.Trainer;

/// <summary><c>moe-trainer data prepare|corpora|arithmetic</c>.</summary>
public static class DataCommand
{
    public static int Run(string[] args) => args switch
    {
        ["prepare", .. var rest] => Prepare(CommandArgs.Parse(rest)),
        ["corpora", .. var rest] => Corpora(CommandArgs.Parse(rest)),
        ["arithmetic", .. var rest] => Arithmetic(CommandArgs.Parse(rest)),
        _ => throw new UsageException("data needs a subcommand: prepare, corpora or arithmetic"),
    };

    /// <summary>Tokenises documents once into binary shards + manifest, holding out a validation split.</summary>
    static int Prepare(CommandArgs args)
    {
        var inputs = CommandArgs.Paths(args.Require("input"), "input");
        var tokenizerPath = args.Require("tokenizer");
        var output = args.Require("out");
        var validation = args.Double("validation", 0.01, min: 0);
        var seed = args.Int("seed", 0, min: 0);
        var overwrite = args.Flag("overwrite");
        args.RejectUnknown();
        if (validation >= 1) throw new UsageException($"--validation must be below 1 (got {validation})");
        if (!File.Exists(tokenizerPath)) throw new UsageException($"--tokenizer: file '{tokenizerPath}' does not exist");

        var tokenizer = BpeTokenizer.Load(tokenizerPath);
        var watch = Stopwatch.StartNew();
        var manifest = TokenDataset.Prepare(inputs, tokenizer, output,
            new PrepareOptions { ValidationFraction = validation, Seed = seed, DocumentSeparator = SpecialTokens.EosId, Overwrite = overwrite });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dataset: {manifest.Train.Tokens:N0} training tokens ({manifest.Train.Documents} documents), {manifest.Validation.Tokens:N0} validation tokens ({manifest.Validation.Documents} documents), {manifest.DType}, in {watch.Elapsed.TotalSeconds:F1} s -> {Path.GetFullPath(output)}"));
        return 0;
    }

    /// <summary>Converts the npm corpora that scripts/fetch-corpora.sh unpacked into JSON lines.</summary>
    static int Corpora(CommandArgs args)
    {
        var root = args.Get("root") ?? Path.Combine(".data", "corpora");
        args.RejectUnknown();
        if (!Directory.Exists(Path.Combine(root, "raw"))) throw new UsageException($"--root: '{root}/raw' does not exist; run scripts/fetch-corpora.sh first");
        foreach (var s in BuiltInCorpora.ConvertAll(root))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Name}: {s.Documents:N0} documents, {s.Words:N0} words -> {string.Join(", ", s.Files.Take(3))}{(s.Files.Count > 3 ? ", ..." : "")}"));
        return 0;
    }

    /// <summary>Writes synthetic arithmetic problems as {"prompt","completion"} JSON lines.</summary>
    static int Arithmetic(CommandArgs args)
    {
        var output = args.Require("out");
        var count = args.Int("count", 10_000);
        var seed = args.Int("seed", 0, min: 0);
        var max = args.Int("max-operand", 99);
        args.RejectUnknown();
        SyntheticArithmetic.WriteJsonLines(output, seed, count, max);
        Console.WriteLine($"arithmetic: {count} problems (seed {seed}, operands up to {max}) -> {Path.GetFullPath(output)}");
        return 0;
    }
}
