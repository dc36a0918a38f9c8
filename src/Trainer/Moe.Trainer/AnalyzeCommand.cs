using System.Globalization;
using System.Text;
using Moe.Model.Analysis;
using Moe.Model.Backend;
using Moe.Model.Config;
using Moe.Model.IO;
using Moe.Model.Tokenization;
using Moe.Model.Training;

namespace Moe.Trainer;

/// <summary><c>moe-trainer analyze routing</c>: which experts a checkpoint's routers pick, per layer, group, token id and position.</summary>
public static class AnalyzeCommand
{
    public static int Run(string[] args) => args switch
    {
        ["routing", .. var rest] => Routing(CommandArgs.Parse(rest)),
        _ => throw new UsageException("analyze needs a subcommand: routing"),
    };

    static int Routing(CommandArgs args)
    {
        var checkpointPath = args.Require("checkpoint");
        var inputs = CommandArgs.Paths(args.Require("input"), "input");
        var groupField = args.Get("group-field") ?? "category";
        var maxDocs = args.Int("max-docs", 200);
        var maxTokens = args.Int("max-tokens-per-doc", 512);
        var topTokens = args.Int("top-tokens", 10, min: 0);
        var buckets = args.Int("position-buckets", 8);
        var minOccurrences = args.Int("min-occurrences", 5, min: 2);
        var capacity = args.Get("capacity") ?? "train";
        var batchOption = args.Int("batch", 0);
        var deviceText = args.Get("device") ?? "cpu";
        var libtorch = args.Get("libtorch");
        var output = args.Get("out");
        var json = args.Flag("json");
        args.RejectUnknown();
        if (capacity is not ("train" or "eval")) throw new UsageException($"--capacity must be train or eval (got '{capacity}')");

        var checkpoint = CheckpointOption.Resolve(checkpointPath);
        var config = checkpoint.State.Config;
        var moe = config.Model.Moe;
        if (moe is null || !Enumerable.Range(0, config.Model.NLayers).Any(config.Model.IsMoeBlock))
            throw new UsageException($"--checkpoint: '{checkpoint.Directory}' is a dense model; there is no routing to analyse");
        var seq = config.Training.SeqLen;
        var batch = batchOption == 0 ? config.Training.BatchSize : batchOption;
        if (buckets > seq) throw new UsageException($"--position-buckets {buckets} exceeds seq_len {seq}");

        var tokenizer = BpeTokenizer.Load(checkpoint.TokenizerPath);
        var corpus = AnalysisCorpus.Build(inputs, groupField, maxDocs, maxTokens, seq, tokenizer.Encode, SpecialTokens.EosId);
        if (corpus.Windows.Count == 0)
            throw new UsageException($"--input: the {corpus.Documents} chosen documents hold fewer than seq_len = {seq} tokens in every group; nothing to analyse");
        var device = TorchBackend.Initialize(deviceText, libtorch);
        using var model = CheckpointStore.LoadModel(checkpoint, device);
        var topK = model.MoeLayers.First().Moe.Router.TopK;
        var aggregator = new RoutingAggregator(new RoutingAggregationOptions(moe.NumExperts, topK, seq, corpus.Groups, buckets, topTokens, minOccurrences));
        var layers = RoutingAnalyzer.Run(model, corpus, aggregator, capacity == "train", batch, device);

        var dropping = !moe.Capacity.Dropless && moe.Router.Gating != Gating.Soft;
        var report = new RoutingReport(checkpoint.Directory, checkpoint.State.Step, corpus.Documents, corpus.Tokens, seq, moe.NumExperts, topK,
            capacity, dropping ? (capacity == "train" ? moe.Capacity.TrainFactor : moe.Capacity.EvalFactor) : null, corpus.Groups, layers);
        var text = JsonOutput.Serialize(report.ToJson(id => tokenizer.Decode([id])));
        if (output is not null) AtomicFile.WriteAllText(output, text + "\n");
        if (json) Console.WriteLine(text);
        else Console.Write(Describe(report, output));
        return 0;
    }

    static string Describe(RoutingReport r, string? output)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(string.Create(inv, $"{r.Checkpoint} (step {r.Step}): {r.Documents} documents, {r.Tokens} tokens in {r.Groups.Count} groups, capacity {r.Capacity}{(r.CapacityFactor is { } f ? $" (factor {f})" : " (dropless)")}"));
        foreach (var l in r.Layers)
        {
            var consistency = l.ContextIndependence.Consistency is { } c ? c.ToString("F3", inv) : "n/a";
            sb.AppendLine(string.Create(inv,
                $"layer {l.Layer}: max/mean load {l.MaxOverMean:F2}, dropped {l.DropFraction:P2}, entropy {l.Entropy:F3}, token-id consistency {consistency} (chance {l.ContextIndependence.Chance:F3})"));
            sb.AppendLine("  load  " + string.Join(" ", l.Load.Select(v => v.ToString("F3", inv))));
        }
        if (output is not null) sb.AppendLine($"-> {Path.GetFullPath(output)}");
        return sb.ToString();
    }
}
