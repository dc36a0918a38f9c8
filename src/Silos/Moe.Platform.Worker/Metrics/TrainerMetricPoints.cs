using Moe.Platform.Metrics;
using System.Text.Json.Nodes;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Events;

namespace Moe.Platform.Worker.Metrics;

/// <summary>The metric points of one trainer event (step and eval records carry metrics; others none).</summary>
public static class TrainerMetricPoints
{
    public static IEnumerable<MetricPoint> From(TrainerEvent trainerEvent) => trainerEvent switch
    {
        TrainingStep s => FromStep(s),
        EvalCompleted e => [new(e.Step, MetricNames.ValLoss, e.ValLoss), new(e.Step, MetricNames.ValPpl, e.ValPpl)],
        _ => [],
    };

    private static IEnumerable<MetricPoint> FromStep(TrainingStep s)
    {
        yield return new(s.Step, MetricNames.Loss, s.Loss);
        yield return new(s.Step, MetricNames.LmLoss, s.LmLoss);
        yield return new(s.Step, MetricNames.AuxLoss, s.AuxLoss);
        if (s.MtpLoss is { } mtp) yield return new(s.Step, MetricNames.MtpLoss, mtp);
        yield return new(s.Step, MetricNames.Lr, s.Lr);
        yield return new(s.Step, MetricNames.GradNorm, s.GradNorm);
        yield return new(s.Step, MetricNames.TokensPerSecond, s.TokensPerSecond);
        if (s.Raw["aux"] is JsonObject aux)
            foreach (var (name, value) in aux)
                if (value is JsonValue v && v.TryGetValue<double>(out var d)) yield return new(s.Step, MetricNames.Aux(name), d);
        foreach (var layer in s.Router)
        {
            yield return new(s.Step, MetricNames.RouterMaxOverMean(layer.Layer), layer.MaxOverMean);
            yield return new(s.Step, MetricNames.RouterDropFraction(layer.Layer), layer.DropFraction);
            yield return new(s.Step, MetricNames.RouterEntropy(layer.Layer), layer.Entropy);
            for (var expert = 0; expert < layer.Load.Count; expert++)
                yield return new(s.Step, MetricNames.RouterLoad(layer.Layer, expert), layer.Load[expert]);
            for (var expert = 0; expert < (layer.Bias?.Count ?? 0); expert++)
                yield return new(s.Step, MetricNames.RouterBias(layer.Layer, expert), layer.Bias![expert]);
        }
    }
}
