using System.Globalization;

namespace Moe.Platform.Worker.Metrics;

/// <summary>
/// The names under which a run's curves are stored: the trainer's field names for scalars, and
/// <c>router.&lt;layer&gt;.&lt;stat&gt;</c> / <c>router.&lt;layer&gt;.load.&lt;expert&gt;</c> per MoE layer.
/// </summary>
public static class MetricNames
{
    public const string Loss = "loss";
    public const string LmLoss = "lm_loss";
    public const string AuxLoss = "aux_loss";
    public const string MtpLoss = "mtp_loss";
    public const string Lr = "lr";
    public const string GradNorm = "grad_norm";
    public const string TokensPerSecond = "tokens_per_s";
    public const string ValLoss = "val_loss";
    public const string ValPpl = "val_ppl";

    /// <summary><c>aux.switch</c>, <c>aux.z</c>, ...: each balancing loss unweighted (to compare methods).</summary>
    public static string Aux(string loss) => "aux." + loss;

    public static string RouterMaxOverMean(int layer) => Router(layer, "max_over_mean");
    public static string RouterDropFraction(int layer) => Router(layer, "drop_fraction");
    public static string RouterEntropy(int layer) => Router(layer, "entropy");
    public static string RouterLoad(int layer, int expert) => Router(layer, "load." + expert.ToString(CultureInfo.InvariantCulture));
    /// <summary>The auxiliary-loss-free selection bias of one expert (DeepSeek-V3), when that balancing is on.</summary>
    public static string RouterBias(int layer, int expert) => Router(layer, "bias." + expert.ToString(CultureInfo.InvariantCulture));

    private static string Router(int layer, string stat) => $"router.{layer.ToString(CultureInfo.InvariantCulture)}.{stat}";
}
