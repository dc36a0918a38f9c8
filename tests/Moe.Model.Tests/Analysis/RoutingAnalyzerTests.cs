using System.Text.Json.Nodes;
using Moe.Model.Analysis;
using Moe.Model.Tests.Data;
using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Analysis;

/// <summary>
/// The routing analysis of a tiny model against a brute-force reference: each MoE layer's input rebuilt from the
/// model's own submodules, its router run directly, capacity drops worked out by a plain loop in GShard's priority order,
/// and every statistic recounted with LINQ. Also: the trace changes no output, and the capacity override.
/// </summary>
[Collection(MoeTestModels.Collection)]
public class RoutingAnalyzerTests : TempFolderTest
{
    // Train capacity 0.5 so that drops happen: ceil(0.5 x 3 x 16 x 2 / 4) = 12 slots a batch of 3 windows, 4 for one window.
    const string TinyJson = """
        {
          "name": "tiny-analysis",
          "vocab_size": 64, "d_model": 32, "n_layers": 2, "n_heads": 2, "max_seq_len": 16,
          "ffn_hidden": 32, "init_std": 0.2, "tie_embeddings": true,
          "moe": { "num_experts": 4, "top_k": 2, "expert_hidden": 16, "capacity": { "train_factor": 0.5, "eval_factor": 1.0 } }
        }
        """;
    const int Seq = 16, Batch = 3, Experts = 4, K = 2;

    static MoeTransformer Model(params string[] overrides)
    {
        manual_seed(11);
        var model = new MoeTransformer(ConfigLoader.Parse(TinyJson, overrides));
        model.eval();
        return model;
    }

    /// <summary>Three groups of short documents over a small vocabulary of words, so ids recur in many contexts.</summary>
    AnalysisCorpus Corpus()
    {
        string[] words = ["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op"];
        var rng = new Random(5);
        var lines = Enumerable.Range(0, 12).Select(i => new JsonObject
        {
            ["text"] = string.Join(" ", Enumerable.Range(0, 6 + i % 5).Select(_ => words[rng.Next(i % 3 == 0 ? 3 : words.Length)])),
            ["category"] = (i % 3) switch { 0 => "news", 1 => "fiction", _ => "lore" },
        }.ToJsonString());
        var path = Write("docs.jsonl", string.Join("\n", lines));
        return AnalysisCorpus.Build([path], "category", maxDocs: 12, maxTokensPerDoc: 30, Seq,
            text => text.Select(c => c == ' ' ? 3 : 4 + (c - 'a')).ToArray(), separator: 2);
    }

    sealed record Routed(int Id, int Position, int Group, int[] Experts, bool[] Kept, double Entropy);

    /// <summary>
    /// Per layer, per token in window order: the reference routing of <paramref name="corpus"/> at capacity
    /// <paramref name="factor"/>. The blocks that compute the next layer's input must drop as the analysis does, so they
    /// run with the same capacity override.
    /// </summary>
    static Dictionary<int, List<Routed>> Reference(MoeTransformer model, AnalysisCorpus corpus, double factor, bool trainCapacity)
    {
        foreach (var (_, moe) in model.MoeLayers) moe.TrainCapacity = trainCapacity;
        try { return Reference(model, corpus, factor); }
        finally { foreach (var (_, moe) in model.MoeLayers) moe.TrainCapacity = null; }
    }

    static Dictionary<int, List<Routed>> Reference(MoeTransformer model, AnalysisCorpus corpus, double factor)
    {
        var result = new Dictionary<int, List<Routed>>();
        using var no = no_grad();
        foreach (var batch in corpus.Windows.Chunk(Batch))
        {
            using var scope = NewDisposeScope();
            var ids = new long[batch.Length, Seq];
            for (var b = 0; b < batch.Length; b++)
                for (var t = 0; t < Seq; t++) ids[b, t] = batch[b].Tokens[t];
            var x = Child<nn.Module<Tensor, Tensor>>(model, "tok_embeddings").forward(tensor(ids));
            for (var layer = 0; layer < 2; layer++)
            {
                var p = $"blocks.{layer}.";
                var h = x + Child<nn.Module<Tensor, BlockContext, Tensor>>(model, p + "attn")
                    .forward(Child<nn.Module<Tensor, Tensor>>(model, p + "attn_norm").forward(x), BlockContext.Start);
                var moeInput = Child<nn.Module<Tensor, Tensor>>(model, p + "ffn_norm").forward(h).reshape(-1, 32);
                var route = Child<Router>(model, p + "moe.router").forward(moeInput);
                var chosen = Longs(route.ExpertIndex);
                var probs = Floats(route.Probs);
                long tokens = batch.Length * Seq;
                var slots = (int)Math.Min(tokens, Math.Ceiling(factor * tokens * K / Experts));
                var kept = BruteForceCapacity(chosen, (int)tokens, slots);
                var list = result.TryGetValue(layer, out var l) ? l : result[layer] = [];
                for (var r = 0; r < tokens; r++)
                {
                    var entropy = -Enumerable.Range(0, Experts).Sum(e => probs[r * Experts + e] * Math.Log(probs[r * Experts + e]));
                    list.Add(new Routed(batch[r / Seq].Tokens[r % Seq], r % Seq, batch[r / Seq].Group,
                        [(int)chosen[r * K], (int)chosen[r * K + 1]], [kept[r * K], kept[r * K + 1]], entropy));
                }
                x = Child<TransformerBlock>(model, $"blocks.{layer}").forward(x, BlockContext.Start).Output;
            }
        }
        return result;
    }

    /// <summary>GShard's order: every first choice before any second choice, earlier tokens first; an expert takes `slots`.</summary>
    static bool[] BruteForceCapacity(long[] chosen, int tokens, int slots)
    {
        var kept = new bool[tokens * K];
        var used = new int[Experts];
        for (var choice = 0; choice < K; choice++)
            for (var t = 0; t < tokens; t++)
            {
                var e = chosen[t * K + choice];
                if (used[e] < slots) { used[e]++; kept[t * K + choice] = true; }
            }
        return kept;
    }

    static void Near(double expected, double actual, double tol, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R}");

    [Theory]
    [InlineData(true, 0.5)]
    [InlineData(false, 1.0)]
    public void EveryStatisticMatchesABruteForceRecount(bool trainCapacity, double factor)
    {
        using var model = Model();
        var corpus = Corpus();
        Assert.True(corpus.Windows.Count % Batch != 0, "the last batch should be smaller, to test capacity per forward");
        var groups = corpus.Groups.Count;
        var aggregator = new RoutingAggregator(new RoutingAggregationOptions(Experts, K, Seq, corpus.Groups, PositionBuckets: 4, TopTokens: 3, MinOccurrences: 2));
        var reports = RoutingAnalyzer.Run(model, corpus, aggregator, trainCapacity, Batch, CPU);
        var reference = Reference(model, corpus, factor, trainCapacity);

        Assert.Equal([0, 1], reports.Select(r => r.Layer));
        foreach (var report in reports)
        {
            var tokens = reference[report.Layer];
            var what = $"layer {report.Layer}";
            Assert.Equal(corpus.Tokens, report.Tokens);
            var assignments = tokens.SelectMany(t => t.Experts.Zip(t.Kept)).ToList();
            var load = Enumerable.Range(0, Experts).Select(e => (double)assignments.Count(a => a.First == e) / assignments.Count).ToArray();
            for (var e = 0; e < Experts; e++) Near(load[e], report.Load[e], 1e-12, $"{what} load[{e}]");
            Near(load.Max() / load.Average(), report.MaxOverMean, 1e-12, $"{what} max_over_mean");
            var dropped = assignments.Count(a => !a.Second);
            Near((double)dropped / assignments.Count, report.DropFraction, 1e-12, $"{what} drop_fraction");
            if (trainCapacity) Assert.True(dropped > 0, $"{what}: the train capacity should drop something");
            Near(tokens.Average(t => t.Entropy), report.Entropy, 1e-5, $"{what} entropy");

            for (var g = 0; g < groups; g++)
            {
                var inGroup = tokens.Where(t => t.Group == g).ToList();
                Assert.Equal(inGroup.Count, report.ByGroup[g].Tokens);
                for (var e = 0; e < Experts; e++)
                    Near((double)inGroup.Sum(t => t.Experts.Count(x => x == e)) / (inGroup.Count * K), report.ByGroup[g].Share[e], 1e-12, $"{what} group {g} share[{e}]");
            }

            var occurrences = tokens.GroupBy(t => t.Id).ToDictionary(x => x.Key, x => x.Count());
            for (var e = 0; e < Experts; e++)
            {
                var expected = tokens.Where(t => t.Experts.Contains(e)).GroupBy(t => t.Id)
                    .Select(x => (Id: x.Key, Count: (long)x.Count())).OrderByDescending(x => x.Count).ThenBy(x => x.Id).Take(3).ToList();
                Assert.Equal(expected, report.TopTokens[e].Tokens.Select(t => (t.Id, t.Count)));
                foreach (var t in report.TopTokens[e].Tokens) Near((double)t.Count / occurrences[t.Id], t.RoutedShare, 1e-12, $"{what} expert {e} id {t.Id}");
            }

            var frequent = tokens.GroupBy(t => t.Id).Where(x => x.Count() >= 2).ToList();
            var consistent = frequent.Sum(x => x.GroupBy(t => t.Experts[0]).Max(y => y.Count()));
            var counted = frequent.Sum(x => x.Count());
            Assert.Equal(counted, report.ContextIndependence.TokensCounted);
            Near((double)consistent / counted, report.ContextIndependence.Consistency!.Value, 1e-12, $"{what} consistency");

            Assert.Equal(4, report.DropByPosition.BucketSize);
            for (var b = 0; b < 4; b++)
            {
                var inBucket = tokens.Where(t => t.Position / 4 == b).SelectMany(t => t.Kept).ToList();
                Near((double)inBucket.Count(k => !k) / inBucket.Count, report.DropByPosition.Fractions[b]!.Value, 1e-12, $"{what} bucket {b}");
            }
        }
        Assert.False(model.training, "the analysis leaves the model in the mode it found");
        Assert.All(model.MoeLayers, l => Assert.Null(l.Moe.TrainCapacity));
    }

    [Fact]
    public void TheTraceRecordsWhatTheRouterChoseAndWhatCapacityDropped()
    {
        using var model = Model();
        var corpus = Corpus();
        var reference = Reference(model, corpus, 0.5, trainCapacity: true);
        foreach (var (_, moe) in model.MoeLayers) moe.TrainCapacity = true;
        using var trace = RoutingTrace.Attach(model);
        var batch = corpus.Windows.Take(Batch).ToArray();
        using (no_grad())
        {
            using var ids = tensor(batch.SelectMany(w => w.Tokens.Select(t => (long)t)).ToArray()).view(Batch, Seq);
            model.Forward(ids);
        }
        var records = trace.Take();
        Assert.Equal([0, 1], records.Select(r => r.Layer));
        Assert.Empty(trace.Take()); // taken once
        foreach (var r in records)
        {
            Assert.Equal(Batch * Seq, r.Tokens);
            var expected = reference[r.Layer].Take(Batch * Seq).ToList();
            Assert.Equal(expected.SelectMany(t => t.Experts), r.Experts);
            Assert.Equal(expected.SelectMany(t => t.Kept), r.Kept);
        }
    }

    [Fact]
    public void OutputsAreBitIdenticalWithTheTraceOnOffAndRemoved()
    {
        using var model = Model("moe.capacity={\"train_factor\":0.5,\"eval_factor\":0.75}");
        using var tokens = randint(0, 64, [2, Seq], generator: new Generator(3));
        using var targets = randint(0, 64, [2, Seq], generator: new Generator(4));
        ModelOutput Run()
        {
            using var no = no_grad();
            return model.Forward(tokens, targets);
        }
        var before = Run();
        ModelOutput traced;
        using (var trace = RoutingTrace.Attach(model))
        {
            traced = Run();
            Assert.Equal(2, trace.Take().Count);
        }
        var after = Run();
        foreach (var other in new[] { traced, after })
        {
            Assert.Equal(Floats(before.Logits), Floats(other.Logits));
            Assert.Equal(Floats(before.Loss!), Floats(other.Loss!));
            Assert.Equal(before.RouterStats.Select(s => (s.Layer, s.DroppedFraction, s.MeanRouterEntropy)),
                other.RouterStats.Select(s => (s.Layer, s.DroppedFraction, s.MeanRouterEntropy)));
        }
        Assert.True(before.RouterStats.Any(s => s.DroppedFraction > 0), "the test should exercise dropping");
        using var again = RoutingTrace.Attach(model); // the first trace let go of every layer
    }

    [Fact]
    public void ATraceCannotBeAttachedTwice()
    {
        using var model = Model();
        using var first = RoutingTrace.Attach(model);
        Assert.Throws<InvalidOperationException>(() => RoutingTrace.Attach(model));
    }

    [Theory]
    // mode, override, expected factor: 2 windows of 16 = 32 tokens, slots = ceil(f x 32 x 2 / 4) = 16 f
    [InlineData(false, null, 1.0)]
    [InlineData(false, true, 0.5)]
    [InlineData(true, null, 0.5)]
    [InlineData(true, false, 1.0)]
    public void TheCapacityOverrideChoosesTheFactorWhateverTheMode(bool training, bool? trainCapacity, double factor)
    {
        using var model = Model();
        model.train(training);
        foreach (var (_, moe) in model.MoeLayers) moe.TrainCapacity = trainCapacity;
        using var tokens = randint(0, 64, [2, Seq], generator: new Generator(3));
        using var no = no_grad();
        var stats = model.Forward(tokens).RouterStats;
        Assert.All(stats, s => Assert.Equal((long)(16 * factor), s.Capacity));
    }
}
