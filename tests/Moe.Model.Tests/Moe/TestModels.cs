using TorchSharp.Modules;

namespace Moe.Model.Tests;

/// <summary>
/// The MoE tests seed TorchSharp's global generator and some compare trained outcomes against thresholds; running them
/// alone (not beside other test classes drawing from the same generator) keeps every run bit-for-bit reproducible.
/// </summary>
[CollectionDefinition(MoeTestModels.Collection, DisableParallelization = true)]
public sealed class MoeSerialCollection;

/// <summary>Small shared helpers for the MoE tests: tiny configurations, parameter access and tensor comparisons.</summary>
public static class MoeTestModels
{
    public const string Collection = "MoE (serial, seeded)";

    /// <summary>
    /// A tiny MoE model configuration (one MoE block, d=8, 4 experts, top-2, dropless), changed by dotted
    /// overrides through the loader's own override mechanism, e.g. <c>"moe.top_k=1"</c>, <c>"moe.capacity={\"train_factor\":0.5}"</c>.
    /// </summary>
    public static ModelConfig Tiny(params string[] overrides) => ConfigLoader.Parse(TinyJson, overrides);

    public const string TinyJson = """
        {
          "name": "tiny-moe",
          "vocab_size": 16, "d_model": 8, "n_layers": 1, "n_heads": 2, "max_seq_len": 16,
          "ffn_hidden": 16, "init_std": 0.02, "tie_embeddings": true,
          "moe": {
            "num_experts": 4, "top_k": 2, "expert_hidden": 8,
            "capacity": { "dropless": true }
          }
        }
        """;

    /// <summary>An MoE layer built as a transformer block builds it (same init scheme).</summary>
    public static MoELayer Layer(ModelConfig c, double? initStd = null) =>
        new(c.DModel, c.Moe!, initStd ?? c.InitStd, (initStd ?? c.InitStd) / Math.Sqrt(2.0 * c.NLayers));

    public static Parameter Param(nn.Module module, string name) =>
        module.named_parameters().FirstOrDefault(p => p.name == name).parameter
        ?? throw new KeyNotFoundException($"no parameter '{name}' in [{string.Join(", ", module.named_parameters().Select(p => p.name))}]");

    /// <summary>Overwrites a parameter (or buffer) in place, outside autograd.</summary>
    public static void Set(Tensor target, float[] values)
    {
        using var no = no_grad();
        using var src = tensor(values, dtype: ScalarType.Float32).view(target.shape);
        target.copy_(src);
    }

    public static void Set(Tensor target, Tensor values)
    {
        using var no = no_grad();
        target.copy_(values);
    }

    public static double Scalar(Tensor t) => t.detach().cpu().to(ScalarType.Float64).item<double>();

    /// <summary>Element-wise |expected - actual| &lt;= tol x max(1, |expected|), naming the first mismatch.</summary>
    /// <remarks>Relative beyond magnitude 1: float32 sums of large gradients differ by summation order in the 7th digit.</remarks>
    public static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<float> actual, double tol, string what = "")
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tol})");
    }

    public static void AssertClose(double expected, Tensor actual, double tol, string what = "") =>
        Assert.True(Math.Abs(expected - Scalar(actual)) <= tol, $"{what}: expected {expected:R}, got {Scalar(actual):R} (tolerance {tol})");

    /// <summary>Row-major [rows, cols] view of a flat array.</summary>
    public static double At(float[] flat, long cols, long r, long c) => flat[r * cols + c];

    public static double Silu(double x) => x / (1 + Math.Exp(-x));

    public static double[] Softmax(double[] z)
    {
        var max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        var s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Indices of the k largest values, largest first (ties: lower index first).</summary>
    public static int[] TopK(double[] v, int k) =>
        Enumerable.Range(0, v.Length).OrderByDescending(i => v[i]).ThenBy(i => i).Take(k).ToArray();

    /// <summary>
    /// Reference output of routed expert <paramref name="e"/> for one token, from the stacked weights:
    /// (silu(x G_e) * (x U_e)) D_e with gate_up[e] = [G_e | U_e] of shape [d, 2h] and down[e] of shape [h, d].
    /// </summary>
    public static double[] ExpertOutput(float[] gateUp, float[] down, int e, int d, int h, IReadOnlyList<double> x)
    {
        var act = new double[h];
        for (var k = 0; k < h; k++)
        {
            double gate = 0, up = 0;
            for (var j = 0; j < d; j++)
            {
                gate += x[j] * gateUp[(e * d + j) * 2 * h + k];
                up += x[j] * gateUp[(e * d + j) * 2 * h + h + k];
            }
            act[k] = Silu(gate) * up;
        }
        var y = new double[d];
        for (var j = 0; j < d; j++)
            for (var k = 0; k < h; k++) y[j] += act[k] * down[(e * h + k) * d + j];
        return y;
    }

    /// <summary>Feeds a model the same tokens and targets once and returns the router stats (no gradient).</summary>
    public static ModelOutput ForwardNoGrad(MoeTransformer model, Tensor tokens, Tensor? targets = null)
    {
        using var no = no_grad();
        return model.Forward(tokens, targets);
    }
}
