namespace Moe.Platform.Worker.Events;

/// <summary>
/// One MoE layer's routing in a step (<c>router[i]</c> of a step record): each expert's share of the assignments, the
/// busiest expert over the mean, the dropped share and the mean router entropy. NaN where the trainer wrote null.
/// </summary>
/// <param name="Bias">DeepSeek-V3 auxiliary-loss-free selection bias per expert, or null when that balancing is off.</param>
public sealed record RouterLayerStats(int Layer, IReadOnlyList<double> Load, double MaxOverMean, double DropFraction, double Entropy,
    IReadOnlyList<double>? Bias = null);
