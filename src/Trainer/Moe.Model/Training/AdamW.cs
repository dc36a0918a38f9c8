using static TorchSharp.torch;

namespace Moe.Model.Training;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter 2019), the update PyTorch's AdamW makes:
/// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (wd p + m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps)).
/// Parameters held in bf16 get an fp32 master copy: the update runs on the master, which is then rounded into the
/// parameter, so small updates are not lost to bf16's 8-bit mantissa. Norms, biases and embeddings take no decay.
/// Its state (step count, moments, masters) saves to and loads from named tensors for exact resume.
/// </summary>
public sealed class AdamW : IDisposable
{
    sealed class Slot(string name, TorchSharp.Modules.Parameter parameter, bool decay)
    {
        public string Name { get; } = name;
        public TorchSharp.Modules.Parameter Parameter { get; } = parameter;
        public bool Decay { get; } = decay;
        public Tensor? Master;
        public Tensor M = null!;
        public Tensor V = null!;
    }

    readonly List<Slot> slots;
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    /// <summary>Updates made so far (Adam's t).</summary>
    public long Step { get; private set; }

    public AdamW(IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters, double beta1 = 0.9, double beta2 = 0.95,
        double eps = 1e-8, double weightDecay = 0.1)
    {
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        slots = parameters.Where(p => p.Parameter.requires_grad)
            .Select(p => new Slot(p.Name, p.Parameter, TakesDecay(p.Name, p.Parameter))).ToList();
        using var noGrad = no_grad();
        foreach (var s in slots)
        {
            if (s.Parameter.dtype != ScalarType.Float32) s.Master = s.Parameter.detach().to(ScalarType.Float32).clone();
            s.M = zeros_like(s.Master ?? s.Parameter, dtype: ScalarType.Float32);
            s.V = zeros_like(s.Master ?? s.Parameter, dtype: ScalarType.Float32);
        }
    }

    /// <summary>Weight decay only on matrices of linear layers: not on norms or biases (1-D) nor on embeddings.</summary>
    public static bool TakesDecay(string name, Tensor parameter) => parameter.dim() >= 2 && !name.Contains("embeddings", StringComparison.Ordinal);

    public IEnumerable<(string Name, bool Decay)> Groups => slots.Select(s => (s.Name, s.Decay));

    /// <summary>L2 norm of all gradients together, in fp32.</summary>
    public double GradNorm()
    {
        using var scope = NewDisposeScope();
        var squares = slots.Where(s => s.Parameter.grad is not null)
            .Select(s => s.Parameter.grad!.to(ScalarType.Float32).pow(2).sum()).ToArray();
        return squares.Length == 0 ? 0 : Math.Sqrt(stack(squares).sum().item<float>());
    }

    /// <summary>
    /// Clips gradients to <paramref name="maxNorm"/> (when positive and exceeded), then updates every parameter.
    /// </summary>
    /// <returns>The gradient norm before clipping.</returns>
    public double StepWith(double lr, double maxNorm)
    {
        var norm = GradNorm();
        var scale = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1.0;
        Step++;
        var bias1 = 1 - Math.Pow(Beta1, Step);
        var bias2 = 1 - Math.Pow(Beta2, Step);
        using var noGrad = no_grad();
        foreach (var s in slots)
        {
            // Each read of .grad makes a new wrapper: read it once, inside the scope that disposes it.
            using var scope = NewDisposeScope();
            if (s.Parameter.grad is not { } grad) continue;
            var target = s.Master ?? s.Parameter;
            var g = grad.to(ScalarType.Float32);
            if (scale != 1.0) g = g * scale;
            s.M.mul_(Beta1).add_(g, alpha: 1 - Beta1);
            s.V.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            if (s.Decay && WeightDecay > 0) target.mul_(1 - lr * WeightDecay);
            var denominator = s.V.sqrt().div_(Math.Sqrt(bias2)).add_(Eps);
            target.addcdiv_(s.M, denominator, value: -lr / bias1);
            if (s.Master is not null) s.Parameter.copy_(s.Master);
        }
        return norm;
    }

    public void ZeroGrad()
    {
        foreach (var s in slots)
            if (s.Parameter.grad is { } g) { g.Dispose(); s.Parameter.grad = null; }
    }

    /// <summary>Moments and masters by name (<c>{param}.exp_avg</c>, <c>.exp_avg_sq</c>, <c>.master</c>).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        foreach (var s in slots)
        {
            yield return new($"{s.Name}.exp_avg", s.M);
            yield return new($"{s.Name}.exp_avg_sq", s.V);
            if (s.Master is not null) yield return new($"{s.Name}.master", s.Master);
        }
    }

    /// <summary>Restores <see cref="StateTensors"/> and the step count; refuses missing, extra or misshapen entries.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long step, string source)
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var s in slots)
        {
            var target = s.Master ?? s.Parameter;
            Tensor Take(string suffix)
            {
                var key = $"{s.Name}.{suffix}";
                expected.Add(key);
                if (!tensors.TryGetValue(key, out var t)) throw new InvalidDataException($"{source}: optimiser state lacks '{key}'");
                if (!t.shape.SequenceEqual(target.shape))
                    throw new InvalidDataException($"{source}: '{key}' has shape [{string.Join(", ", t.shape)}], the parameter [{string.Join(", ", target.shape)}]");
                return t;
            }
            s.M.copy_(Take("exp_avg"));
            s.V.copy_(Take("exp_avg_sq"));
            if (s.Master is not null)
            {
                s.Master.copy_(Take("master"));
                s.Parameter.copy_(s.Master);
            }
        }
        var extra = tensors.Keys.Where(k => !expected.Contains(k)).ToList();
        if (extra.Count > 0) throw new InvalidDataException($"{source}: optimiser state has unexpected '{extra[0]}' (a different model?)");
        Step = step;
    }

    public void Dispose()
    {
        foreach (var s in slots) { s.M.Dispose(); s.V.Dispose(); s.Master?.Dispose(); }
    }
}
