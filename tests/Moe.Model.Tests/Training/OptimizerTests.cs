using Moe.Model.Training;
using Parameter = TorchSharp.Modules.Parameter;
using AdamW = Moe.Model.Training.AdamW;

namespace Moe.Model.Tests.Training;

public sealed class OptimizerTests
{
    static Parameter Param(float[] values, long[]? shape = null) =>
        new(tensor(values).reshape(shape ?? [values.Length]), requires_grad: true);

    static void SetGrad(Parameter p, float[] g) => p.grad = tensor(g).reshape(p.shape);

    [Fact]
    public void TwoStepsMatchAdamWComputedByHand()
    {
        // A 2x1 matrix takes weight decay; a 1-D "norm" weight does not.
        var w = Param([1.0f, -2.0f], [2, 1]);
        var n = Param([0.5f]);
        using var opt = new AdamW([("blocks.0.w", w), ("blocks.0.norm.weight", n)], beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1);
        double[] wRef = [1.0, -2.0], nRef = [0.5];
        double[] mW = [0, 0], vW = [0, 0], mN = [0], vN = [0];
        float[][] gradsW = [[0.3f, -0.1f], [-0.2f, 0.4f]];
        float[][] gradsN = [[2.0f], [1.0f]];
        double[] lrs = [0.01, 0.005];
        for (var t = 1; t <= 2; t++)
        {
            SetGrad(w, gradsW[t - 1]);
            SetGrad(n, gradsN[t - 1]);
            opt.StepWith(lrs[t - 1], maxNorm: 0);
            HandStep(wRef, mW, vW, gradsW[t - 1], lrs[t - 1], 0.1, t);
            HandStep(nRef, mN, vN, gradsN[t - 1], lrs[t - 1], 0.0, t);
        }
        AssertValues(wRef, w);
        AssertValues(nRef, n);
        Assert.Equal(2, opt.Step);
    }

    static void HandStep(double[] p, double[] m, double[] v, float[] g, double lr, double wd, int t)
    {
        for (var i = 0; i < p.Length; i++)
        {
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.95 * v[i] + 0.05 * g[i] * g[i];
            var mHat = m[i] / (1 - Math.Pow(0.9, t));
            var vHat = v[i] / (1 - Math.Pow(0.95, t));
            p[i] = p[i] * (1 - lr * wd) - lr * mHat / (Math.Sqrt(vHat) + 1e-8);
        }
    }

    static void AssertValues(double[] expected, Tensor actual)
    {
        var values = actual.detach().reshape(-1).data<float>().ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], values[i], 5e-6);
    }

    [Fact]
    public void NoDecayOnNormsBiasesOrEmbeddings()
    {
        using var model = new MoeTransformer(new ModelConfig { VocabSize = 32, DModel = 16, NLayers = 1, NHeads = 2, MaxSeqLen = 8, FfnHidden = 32,
            Moe = new MoeConfig { NumExperts = 2, TopK = 1, ExpertHidden = 16 } });
        using var opt = new AdamW(model.named_parameters().Select(p => (p.name, p.parameter)));
        var groups = opt.Groups.ToDictionary(g => g.Name, g => g.Decay);
        Assert.False(groups["tok_embeddings.weight"]);
        Assert.All(groups.Where(g => g.Key.Contains("norm")), g => Assert.False(g.Value, g.Key));
        Assert.True(groups["blocks.0.attn.wq.weight"]);
        Assert.Contains(groups, g => g.Key.Contains("experts") && g.Value);
    }

    [Fact]
    public void ClippingScalesTheGradientToTheMaximumNorm()
    {
        var p = Param([0f, 0f]);
        using var opt = new AdamW([("w", p)], beta1: 0, beta2: 0, eps: 0, weightDecay: 0);
        SetGrad(p, [3f, 4f]);
        var norm = opt.StepWith(lr: 1, maxNorm: 1);
        Assert.Equal(5.0, norm, 5);
        // beta1 = beta2 = 0: the update is g / |g| per element whatever the scale, so inspect the clipped moment instead.
        var m = opt.StateTensors().Single(s => s.Key == "w.exp_avg").Value.data<float>().ToArray();
        Assert.Equal(0.6f, m[0], 5);
        Assert.Equal(0.8f, m[1], 5);
    }

    [Fact]
    public void Bf16ParametersKeepAnFp32MasterSoSmallUpdatesAccumulate()
    {
        // 1.0 in bf16 has a spacing of 2^-7: an update of 1e-3 rounds away on its own but not in the master copy.
        var p = new Parameter(ones(1, dtype: ScalarType.BFloat16), requires_grad: true);
        using var opt = new AdamW([("w", p)], beta1: 0, beta2: 0, eps: 0, weightDecay: 0);
        for (var i = 0; i < 20; i++)
        {
            p.grad = ones(1, dtype: ScalarType.BFloat16);
            opt.StepWith(lr: 1e-3, maxNorm: 0);
        }
        var master = opt.StateTensors().Single(s => s.Key == "w.master").Value.item<float>();
        Assert.Equal(0.98f, master, 4);
        Assert.Equal(ScalarType.BFloat16, p.dtype);
        Assert.Equal(0.98f, p.to(ScalarType.Float32).item<float>(), 2);
    }

    [Fact]
    public void StateRoundTripContinuesIdentically()
    {
        float[] start = [0.1f, 0.2f, -0.3f];
        var a = Param(start);
        var b = Param(start);
        using var optA = new AdamW([("w", a)]);
        SetGrad(a, [0.5f, -1f, 2f]);
        optA.StepWith(0.01, 1);
        using var optB = new AdamW([("w", b)]);
        using (no_grad()) b.copy_(a);
        optB.LoadState(optA.StateTensors().ToDictionary(p => p.Key, p => p.Value.clone()), optA.Step, "test");
        SetGrad(a, [0.1f, 0.1f, -0.1f]);
        SetGrad(b, [0.1f, 0.1f, -0.1f]);
        optA.StepWith(0.01, 1);
        optB.StepWith(0.01, 1);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        var e = Assert.Throws<InvalidDataException>(() => { optB.LoadState(new Dictionary<string, Tensor>(), 1, "state.safetensors"); });
        Assert.Contains("w.exp_avg", e.Message);
    }

    [Fact]
    public void ScheduleWarmsUpLinearlyThenFollowsTheCosineToTheMinimum()
    {
        var s = new LearningRateSchedule(Peak: 1e-3, Min: 1e-4, WarmupSteps: 10, TotalSteps: 110);
        Assert.Equal(1e-4, s.At(1), 12);
        Assert.Equal(5e-4, s.At(5), 12);
        Assert.Equal(1e-3, s.At(10), 12);
        Assert.Equal((1e-3 + 1e-4) / 2, s.At(60), 12); // halfway through the decay: cos(pi/2) = 0
        Assert.Equal(1e-4 + 0.45e-3 * (1 + Math.Cos(Math.PI * 0.25)), s.At(35), 12);
        Assert.Equal(1e-4, s.At(110), 12);
        Assert.Equal(1e-3, new LearningRateSchedule(1e-3, 1e-4, 0, 0).At(1), 12);
    }
}
