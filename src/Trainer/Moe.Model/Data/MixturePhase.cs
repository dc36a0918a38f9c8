namespace Moe.Model.Data;

/// <summary>
/// One phase of a data curriculum: while training progress (a fraction in [0, 1]) is at most <see cref="Until"/> and above
/// the previous phase's, windows are drawn from the datasets in proportion to <see cref="Weights"/> (need not sum to 1;
/// a dataset left out has weight 0). DBRX-style curricula end with a phase that upsamples a small high-quality set.
/// </summary>
public sealed record MixturePhase(double Until, IReadOnlyDictionary<string, double> Weights)
{
    /// <summary>The whole of training on one dataset: a single dataset is a mixture of one.</summary>
    public static MixturePhase Only(string dataset) => new(1.0, new Dictionary<string, double> { [dataset] = 1.0 });

    /// <summary>The same weights for the whole of training.</summary>
    public static MixturePhase Constant(IReadOnlyDictionary<string, double> weights) => new(1.0, weights);
}
