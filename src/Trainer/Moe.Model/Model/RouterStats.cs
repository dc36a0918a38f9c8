namespace Moe.Model.Model;

/// <summary>Router behaviour of one MoE layer in one forward pass.</summary>
/// <param name="Layer">Block index; multi-token-prediction blocks follow the main blocks (n_layers + depth - 1).</param>
/// <param name="TokensPerExpert">Assignments routed to each expert, before capacity.</param>
/// <param name="DroppedFraction">Share of (token, expert) assignments that overflowed capacity.</param>
/// <param name="MeanRouterEntropy">Mean entropy (nats) of each token's distribution over experts.</param>
/// <param name="Bias">DeepSeek-V3 selection bias, when aux-loss-free balancing is on.</param>
public sealed record RouterStats(
    int Layer,
    long[] TokensPerExpert,
    long Capacity,
    double DroppedFraction,
    double MeanRouterEntropy,
    double SwitchLoss,
    double ImportanceLoss,
    double ZLoss,
    double GroupLoss,
    float[]? Bias)
{
    /// <summary>Busiest expert's load over the mean load: 1 is perfect balance, E means collapse onto one expert.</summary>
    public double MaxOverMeanLoad
    {
        get
        {
            var mean = TokensPerExpert.Average();
            return mean == 0 ? 0 : TokensPerExpert.Max() / mean;
        }
    }

    /// <summary>Number of floats a layer packs into its stats vector: E counts then 8 scalars.</summary>
    internal static int PackedLength(int experts) => experts + 8;

    internal static RouterStats Unpack(int layer, ReadOnlySpan<float> v, int experts, float[]? bias)
    {
        var counts = new long[experts];
        for (var i = 0; i < experts; i++) counts[i] = (long)Math.Round(v[i]);
        var s = v[experts..];
        var assignments = s[1];
        return new RouterStats(layer, counts, (long)s[7], assignments == 0 ? 0 : s[0] / assignments, s[2], s[3], s[4], s[5], s[6], bias);
    }
}
