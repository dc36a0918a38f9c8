using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Model.Generation;

/// <summary>How to pick each next token: greedy at temperature 0, else softmax(logits / T) over the top-k (0 = all).</summary>
/// <param name="StopToken">Generation ends after this token.</param>
/// <param name="StopWhen">Generation ends once this is true of the tokens generated so far (e.g. their text holds a newline).</param>
/// <param name="VocabLimit">Only ids below this are generated: a model's vocabulary may be larger than its tokenizer's.</param>
public sealed record SamplingOptions(
    int MaxNewTokens = 64, double Temperature = 0.8, int TopK = 0, long Seed = 0, int? StopToken = null,
    Func<IReadOnlyList<int>, bool>? StopWhen = null, int? VocabLimit = null);

/// <summary>
/// Autoregressive sampling that recomputes the whole (cropped) context each step: simple and exact, meant for checking a
/// checkpoint; hosted inference uses the KV cache instead.
/// </summary>
public static class TextGenerator
{
    public static IReadOnlyList<int> Generate(MoeTransformer model, IReadOnlyList<int> prompt, SamplingOptions options, Device device)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt must hold at least one token", nameof(prompt));
        if (options.Temperature < 0 || !double.IsFinite(options.Temperature)) throw new ArgumentOutOfRangeException(nameof(options), "temperature must be >= 0");
        if (options.TopK < 0) throw new ArgumentOutOfRangeException(nameof(options), "top_k must be >= 0");
        var vocab = model.Config.VocabSize;
        foreach (var id in prompt)
            if (id < 0 || id >= vocab) throw new ArgumentOutOfRangeException(nameof(prompt), $"token id {id} is outside the model's vocabulary [0, {vocab})");
        using var generator = new Generator((ulong)options.Seed, device);
        var tokens = prompt.ToList();
        var generated = new List<int>();
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (var i = 0; i < options.MaxNewTokens; i++)
            {
                using var scope = NewDisposeScope();
                var context = tokens.Skip(Math.Max(0, tokens.Count - model.Config.MaxSeqLen)).Select(t => (long)t).ToArray();
                var logits = model.forward(tensor(context, device: device).unsqueeze(0))[0, -1].to(ScalarType.Float32);
                if (options.VocabLimit is { } limit && limit < vocab) logits = logits.narrow(0, 0, limit);
                var next = options.Temperature == 0 ? (int)logits.argmax().item<long>() : Sample(logits, options, generator);
                tokens.Add(next);
                generated.Add(next);
                if (next == options.StopToken || options.StopWhen?.Invoke(generated) == true) break;
            }
        }
        finally { model.train(wasTraining); }
        return generated;
    }

    static int Sample(Tensor logits, SamplingOptions options, Generator generator)
    {
        var scaled = logits / options.Temperature;
        if (options.TopK > 0 && options.TopK < scaled.shape[0])
        {
            var kth = scaled.topk(options.TopK).values[-1];
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        var probs = nn.functional.softmax(scaled, 0);
        return (int)multinomial(probs, 1, generator: generator).item<long>();
    }
}
