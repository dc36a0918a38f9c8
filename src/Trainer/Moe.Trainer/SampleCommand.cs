using Moe.Model.Backend;
using Moe.Model.Generation;
using Moe.Model.Tokenization;
using Moe.Model.Training;

namespace Moe.Trainer;

/// <summary><c>moe-trainer sample</c>: continue a prompt with a checkpoint, greedily or at a temperature.</summary>
public static class SampleCommand
{
    public static int Run(CommandArgs args)
    {
        var checkpoint = CheckpointStore.Resolve(args.Require("checkpoint"));
        var prompt = args.Get("prompt") ?? "";
        var maxTokens = args.Int("max-tokens", 64);
        var temperature = args.Flag("greedy") ? 0 : args.Double("temperature", 0.8, min: 0);
        var topK = args.Int("top-k", 40, min: 0);
        var seed = args.Int("seed", 0, min: 0);
        var count = args.Int("samples", 1);
        var deviceText = args.Get("device") ?? "cpu";
        var libtorch = args.Get("libtorch");
        args.RejectUnknown();

        var tokenizer = BpeTokenizer.Load(checkpoint.TokenizerPath);
        var ids = new List<int> { SpecialTokens.BosId };
        ids.AddRange(tokenizer.Encode(prompt));
        var device = TorchBackend.Initialize(deviceText, libtorch);
        using var model = CheckpointStore.LoadModel(checkpoint, device);
        for (var i = 0; i < count; i++)
        {
            var options = new SamplingOptions(maxTokens, temperature, topK, seed + i, SpecialTokens.EosId, VocabLimit: tokenizer.VocabSize);
            var generated = TextGenerator.Generate(model, ids, options, device);
            var text = tokenizer.Decode(generated.Where(t => t != SpecialTokens.EosId).ToArray());
            Console.WriteLine($"--- sample {i + 1} (step {checkpoint.State.Step}, {(temperature == 0 ? "greedy" : $"temperature {temperature}, top-k {topK}")})");
            Console.WriteLine(prompt + text);
        }
        return 0;
    }
}
