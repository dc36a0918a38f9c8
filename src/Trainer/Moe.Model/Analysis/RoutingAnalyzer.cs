using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Model.Analysis;

/// <summary>
/// Runs a model over an <see cref="AnalysisCorpus"/> with a <see cref="RoutingTrace"/> attached and feeds every token's
/// routing in every MoE layer to a <see cref="RoutingAggregator"/>. Eval mode (no router noise, no gradients); the capacity
/// factor is chosen separately, so training's drops can be seen without training's noise. Multi-token-prediction layers
/// do not run (an inference forward skips them) and are not reported.
/// </summary>
public static class RoutingAnalyzer
{
    /// <param name="trainCapacity">True: the training capacity factor; false: the evaluation one.</param>
    /// <param name="batchSize">Consecutive windows of equal length run together, up to this many (capacity is per forward).</param>
    public static IReadOnlyList<RoutingLayerReport> Run(
        MoeTransformer model, AnalysisCorpus corpus, RoutingAggregator aggregator, bool trainCapacity, int batchSize, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var layers = model.MoeLayers.Select(l => l.Moe).ToList();
        if (layers.Count == 0) throw new ArgumentException("the model has no MoE layers", nameof(model));
        var wasTraining = model.training;
        model.eval();
        foreach (var moe in layers) moe.TrainCapacity = trainCapacity;
        try
        {
            using var trace = RoutingTrace.Attach(model);
            using var noGrad = no_grad();
            foreach (var batch in Batches(corpus.Windows, batchSize))
            {
                using var scope = NewDisposeScope();
                var length = batch[0].Tokens.Length;
                var ids = new long[batch.Count, length];
                for (var b = 0; b < batch.Count; b++)
                    for (var t = 0; t < length; t++) ids[b, t] = batch[b].Tokens[t];
                model.Forward(tensor(ids, device: device));
                foreach (var routing in trace.Take())
                    if (routing.Layer < model.Config.NLayers) Collect(aggregator, routing, batch);
            }
        }
        finally
        {
            foreach (var moe in layers) moe.TrainCapacity = null;
            model.train(wasTraining);
        }
        return aggregator.Report();
    }

    /// <summary>Row r of the layer's input is window r / length, position r % length.</summary>
    static void Collect(RoutingAggregator aggregator, LayerRouting routing, IReadOnlyList<AnalysisWindow> batch)
    {
        var length = batch[0].Tokens.Length;
        var k = routing.TopK;
        for (var r = 0; r < routing.Tokens; r++)
        {
            var window = batch[r / length];
            var position = r % length;
            aggregator.Add(routing.Layer, new TokenRoute(window.Tokens[position], position, window.Group,
                routing.Experts[(r * k)..((r + 1) * k)], routing.Kept[(r * k)..((r + 1) * k)], routing.Entropy[r]));
        }
    }

    /// <summary>Runs of consecutive windows of the same length, at most <paramref name="size"/> each.</summary>
    static IEnumerable<List<AnalysisWindow>> Batches(IReadOnlyList<AnalysisWindow> windows, int size)
    {
        var batch = new List<AnalysisWindow>();
        foreach (var w in windows)
        {
            if (batch.Count == size || (batch.Count > 0 && batch[0].Tokens.Length != w.Tokens.Length))
            {
                yield return batch;
                batch = [];
            }
            batch.Add(w);
        }
        if (batch.Count > 0) yield return batch;
    }
}
