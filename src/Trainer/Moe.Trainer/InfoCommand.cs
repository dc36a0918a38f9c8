using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Moe.Model.Backend;
using Moe.Model.Config;
using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Trainer;

/// <summary>The main job until the training loop lands: build a model from a config, report its size and step time.</summary>
public static class InfoCommand
{
    public static int Run(CommandArgs args)
    {
        var path = args.Require("config");
        var deviceText = args.Get("device") ?? "cpu";
        var libtorch = args.Get("libtorch");
        var config = ConfigLoader.LoadFile(path, args.Overrides);
        var batch = args.Int("batch", 8);
        var seq = args.Int("seq", Math.Min(config.MaxSeqLen, 256));
        var steps = args.Int("steps", 3);
        args.RejectUnknown();
        if (seq > config.MaxSeqLen) throw new UsageException($"--seq {seq} exceeds max_seq_len {config.MaxSeqLen}");
        try { TorchBackend.ParseDevice(deviceText); }
        catch (ArgumentException e) { throw new UsageException($"--device: {e.Message}"); }

        var device = TorchBackend.Initialize(deviceText, libtorch);
        var size = ModelSize.Of(config);
        var moeBlocks = Enumerable.Range(0, config.NLayers).Where(config.IsMoeBlock).ToList();
        Console.WriteLine($"config      {path} ({config.Name})");
        Console.WriteLine($"backend     {TorchBackend.Describe()}");
        Console.WriteLine($"blocks      {config.NLayers} ({(moeBlocks.Count == 0 ? "all dense" : "MoE at " + string.Join(",", moeBlocks))}){(config.Mtp is { } m ? $", MTP depth {m.Depth}" : "")}");
        if (config.Moe is { } moe)
            Console.WriteLine($"experts     {moe.NumExperts} routed (top-{moe.TopK}, {Snake(moe.Router.Score)} {Snake(moe.Router.Gating)}, {Snake(moe.Dispatch)} kernel) + {moe.NumSharedExperts} shared, hidden {moe.ExpertHidden}");
        Console.WriteLine($"parameters  total {Human(size.Total)}  inference {Human(size.TotalInference)}  active/token {Human(size.ActivePerToken)}  embedding {Human(size.Embedding)}");
        var flops = ModelSize.TrainingFlopsPerToken(config, seq);
        Console.WriteLine($"flops/token {Human((long)flops)} (training, forward+backward, seq {seq})");

        manual_seed(0);
        using var model = new MoeTransformer(config);
        model.to(device);
        model.train();
        var times = new List<double>();
        for (var step = 0; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, config.VocabSize, [batch, seq + 1], device: device);
            var watch = Stopwatch.StartNew();
            var output = model.Forward(tokens.narrow(1, 0, seq), tokens.narrow(1, 1, seq));
            output.Loss!.backward();
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            model.zero_grad();
            if (step > 0) times.Add(watch.Elapsed.TotalSeconds); // step 0 warms up
        }
        var mean = times.Average();
        var tokensPerSecond = batch * seq / mean;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step        forward+backward {batch}x{seq} tokens: {mean * 1000:F1} ms  ({tokensPerSecond:F0} tokens/s, {tokensPerSecond * flops / 1e9:F1} GFLOP/s)"));
        return 0;
    }

    static string Snake<T>(T value) where T : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    static string Human(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("F2", CultureInfo.InvariantCulture) + "B",
        >= 1_000_000 => (n / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}
