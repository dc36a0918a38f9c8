
namespace Moe.Model.Tests.Transformer;

/// <summary>Tiny configurations and tensor helpers for the transformer (non-MoE-internals) tests.</summary>
internal static class TransformerTestKit
{
    /// <summary>
    /// Two blocks, d=16, 4 query heads over 2 key/value heads (head_dim 4), every block MoE with 4 experts, top-2, dropless.
    /// init_std 0.2 (not 0.02) so that logits are of order 1 and absolute tolerances mean something.
    /// </summary>
    public const string TinyJson = """
        {
          "name": "tiny-transformer",
          "vocab_size": 32, "d_model": 16, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "max_seq_len": 32,
          "ffn_hidden": 24, "init_std": 0.2, "tie_embeddings": true,
          "moe": { "num_experts": 4, "top_k": 2, "expert_hidden": 12, "capacity": { "dropless": true } }
        }
        """;

    public static ModelConfig Tiny(params string[] overrides) => ConfigLoader.Parse(TinyJson, overrides);

    public static double Scalar(Tensor t)
    {
        using var c = t.detach().cpu().to(ScalarType.Float64);
        return c.item<double>();
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a.detach().to(ScalarType.Float64) - b.detach().to(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }

    public static double MaxAbs(Tensor a)
    {
        using var d = a.detach().to(ScalarType.Float64).abs().max();
        return d.item<double>();
    }

    public static TorchSharp.Modules.Parameter Param(nn.Module module, string name) =>
        module.named_parameters().FirstOrDefault(p => p.name == name).parameter
        ?? throw new KeyNotFoundException($"no parameter '{name}' in [{string.Join(", ", module.named_parameters().Select(p => p.name))}]");

    public static T Child<T>(nn.Module module, string name) where T : nn.Module =>
        module.named_modules().FirstOrDefault(p => p.name == name).module as T
        ?? throw new KeyNotFoundException($"no {typeof(T).Name} '{name}' in [{string.Join(", ", module.named_modules().Select(p => p.name))}]");

    /// <summary>Overwrites a parameter in place, outside autograd.</summary>
    public static void Set(Tensor target, Tensor values)
    {
        using var no = no_grad();
        target.copy_(values);
    }

    /// <summary>Copies every parameter and buffer of <paramref name="from"/> into the same-named tensor of <paramref name="to"/>.</summary>
    public static void CopyState(nn.Module from, nn.Module to)
    {
        using var no = no_grad();
        var target = to.state_dict();
        foreach (var (name, t) in from.state_dict()) target[name].copy_(t);
    }

    /// <summary>Mean over rows of -log softmax(logits)[target], in doubles: logits [N, V] row-major.</summary>
    public static double CrossEntropy(float[] logits, int vocab, IReadOnlyList<long> targets)
    {
        var rows = targets.Count;
        Assert.Equal(rows * vocab, logits.Length);
        double total = 0;
        for (var r = 0; r < rows; r++)
        {
            var row = logits.AsSpan(r * vocab, vocab);
            double max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            double sum = 0;
            foreach (var v in row) sum += Math.Exp(v - max);
            total += -(row[(int)targets[r]] - max - Math.Log(sum));
        }
        return total / rows;
    }

    /// <summary>
    /// Rotate-half RoPE on one head vector, in doubles: channel pair (i, i + d/2) turns by pos x theta^(-2i/d):
    /// (a, b) -> (a cos - b sin, b cos + a sin).
    /// </summary>
    public static double[] Rope(double[] v, long pos, double theta)
    {
        var d = v.Length;
        var half = d / 2;
        var r = new double[d];
        for (var i = 0; i < half; i++)
        {
            var angle = pos * Math.Pow(theta, -2.0 * i / d);
            double a = v[i], b = v[i + half];
            r[i] = a * Math.Cos(angle) - b * Math.Sin(angle);
            r[i + half] = b * Math.Cos(angle) + a * Math.Sin(angle);
        }
        return r;
    }
}
