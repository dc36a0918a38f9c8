namespace Moe.Model.Analysis;

/// <summary>What the routing statistics are computed over and how finely.</summary>
/// <param name="Experts">Routed experts per layer (E).</param>
/// <param name="TopK">Experts each token chooses (k).</param>
/// <param name="SeqLen">Window length; positions run 0..SeqLen-1.</param>
/// <param name="Groups">Group names; <see cref="TokenRoute.Group"/> indexes this list.</param>
/// <param name="PositionBuckets">At most this many equal position buckets for drop_by_position.</param>
/// <param name="TopTokens">Token ids listed per expert.</param>
/// <param name="MinOccurrences">A token id counts towards context independence once seen this often.</param>
public sealed record RoutingAggregationOptions(
    int Experts, int TopK, int SeqLen, IReadOnlyList<string> Groups, int PositionBuckets = 8, int TopTokens = 10, int MinOccurrences = 5)
{
    /// <summary>ceil(SeqLen / PositionBuckets) positions per bucket.</summary>
    public int BucketSize => (SeqLen + PositionBuckets - 1) / PositionBuckets;

    /// <summary>ceil(SeqLen / BucketSize): PositionBuckets, or fewer when SeqLen does not divide evenly.</summary>
    public int Buckets => (SeqLen + BucketSize - 1) / BucketSize;
}

/// <summary>One token's routing in one MoE layer and what the analysis groups it by.</summary>
/// <param name="TokenId">The token's id in the vocabulary.</param>
/// <param name="Position">Its position in its window (0-based).</param>
/// <param name="Group">Index into <see cref="RoutingAggregationOptions.Groups"/>.</param>
/// <param name="Experts">Chosen experts, best first (k of them).</param>
/// <param name="Kept">Per chosen expert: true if the assignment got a capacity slot, false if it was dropped.</param>
/// <param name="Entropy">Entropy (nats) of the token's router distribution.</param>
public sealed record TokenRoute(int TokenId, int Position, int Group, int[] Experts, bool[] Kept, double Entropy);

/// <summary>
/// Turns per-token routing records into the statistics of <see cref="RoutingLayerReport"/>: plain counting, no tensors, so
/// it can be checked against hand-made traces. Records are added one token at a time; <see cref="Report"/> may be called
/// at any point.
/// </summary>
public sealed class RoutingAggregator(RoutingAggregationOptions options)
{
    readonly SortedDictionary<int, LayerCounts> layers = [];

    public RoutingAggregationOptions Options { get; } = Validate(options);

    static RoutingAggregationOptions Validate(RoutingAggregationOptions o)
    {
        if (o.Experts < 1 || o.TopK < 1 || o.TopK > o.Experts) throw new ArgumentOutOfRangeException(nameof(o), $"need 1 <= top_k ({o.TopK}) <= experts ({o.Experts})");
        if (o.SeqLen < 1 || o.PositionBuckets < 1 || o.TopTokens < 0 || o.MinOccurrences < 1)
            throw new ArgumentOutOfRangeException(nameof(o), "seq_len and position buckets must be positive, top tokens >= 0, min occurrences >= 1");
        if (o.Groups.Count == 0) throw new ArgumentException("at least one group is needed", nameof(o));
        return o;
    }

    public void Add(int layer, TokenRoute route)
    {
        var o = Options;
        if (route.Experts.Length != o.TopK || route.Kept.Length != o.TopK)
            throw new ArgumentException($"token routed to {route.Experts.Length} experts, expected top_k = {o.TopK}", nameof(route));
        if ((uint)route.Position >= (uint)o.SeqLen) throw new ArgumentOutOfRangeException(nameof(route), $"position {route.Position} is outside [0, {o.SeqLen})");
        if ((uint)route.Group >= (uint)o.Groups.Count) throw new ArgumentOutOfRangeException(nameof(route), $"group {route.Group} is outside [0, {o.Groups.Count})");
        foreach (var e in route.Experts)
            if ((uint)e >= (uint)o.Experts) throw new ArgumentOutOfRangeException(nameof(route), $"expert {e} is outside [0, {o.Experts})");
        if (!layers.TryGetValue(layer, out var counts)) layers[layer] = counts = new LayerCounts(o);
        counts.Add(route);
    }

    /// <summary>One report per layer seen, in layer order.</summary>
    public IReadOnlyList<RoutingLayerReport> Report() => layers.Select(l => l.Value.Report(l.Key)).ToList();

    /// <summary>Everything one layer's statistics need, as counts.</summary>
    sealed class LayerCounts(RoutingAggregationOptions o)
    {
        readonly long[] load = new long[o.Experts];               // assignments per expert, before capacity
        readonly long[,] groupLoad = new long[o.Groups.Count, o.Experts];
        readonly long[] groupTokens = new long[o.Groups.Count];
        readonly long[] bucketAssignments = new long[o.Buckets], bucketDropped = new long[o.Buckets];
        readonly Dictionary<int, TokenCounts> byId = [];
        long tokens, dropped;
        double entropySum;

        /// <summary>Per token id: occurrences, assignments to each expert (any choice), and top-1 choices.</summary>
        sealed class TokenCounts(int experts)
        {
            public long Occurrences;
            public readonly long[] Assigned = new long[experts];
            public readonly long[] Top1 = new long[experts];
        }

        public void Add(TokenRoute r)
        {
            tokens++;
            entropySum += r.Entropy;
            groupTokens[r.Group]++;
            if (!byId.TryGetValue(r.TokenId, out var id)) byId[r.TokenId] = id = new TokenCounts(o.Experts);
            id.Occurrences++;
            id.Top1[r.Experts[0]]++;
            var bucket = r.Position / o.BucketSize;
            for (var i = 0; i < r.Experts.Length; i++)
            {
                var e = r.Experts[i];
                load[e]++;
                groupLoad[r.Group, e]++;
                id.Assigned[e]++;
                bucketAssignments[bucket]++;
                if (!r.Kept[i])
                {
                    dropped++;
                    bucketDropped[bucket]++;
                }
            }
        }

        public RoutingLayerReport Report(int layer)
        {
            var assignments = load.Sum();
            var mean = (double)assignments / o.Experts;
            return new RoutingLayerReport(
                layer, tokens,
                Shares(load),
                mean == 0 ? 0 : load.Max() / mean,
                assignments == 0 ? 0 : (double)dropped / assignments,
                tokens == 0 ? 0 : entropySum / tokens,
                Enumerable.Range(0, o.Groups.Count)
                    .Select(g => new GroupShare(o.Groups[g], groupTokens[g], Shares(Enumerable.Range(0, o.Experts).Select(e => groupLoad[g, e]).ToArray())))
                    .ToList(),
                Enumerable.Range(0, o.Experts).Select(TopTokens).ToList(),
                ContextIndependence(),
                new PositionDrops(o.BucketSize, bucketAssignments
                    .Select((n, b) => n == 0 ? (double?)null : (double)bucketDropped[b] / n).ToArray()));
        }

        /// <summary>Counts as shares of their sum; all zero when nothing was counted.</summary>
        static double[] Shares(long[] counts)
        {
            var total = (double)counts.Sum();
            return counts.Select(c => total == 0 ? 0 : c / total).ToArray();
        }

        /// <summary>The ids expert e receives most often (ties: lower id first).</summary>
        ExpertTokens TopTokens(int e) => new(e, byId
            .Where(p => p.Value.Assigned[e] > 0)
            .OrderByDescending(p => p.Value.Assigned[e]).ThenBy(p => p.Key)
            .Take(o.TopTokens)
            .Select(p => new TokenCount(p.Key, p.Value.Assigned[e], (double)p.Value.Assigned[e] / p.Value.Occurrences))
            .ToList());

        /// <summary>
        /// OpenMoE's context-independent specialisation: for ids seen at least MinOccurrences times, the share of their
        /// occurrences whose top-1 expert is that id's most common top-1 expert (frequency-weighted over ids).
        /// </summary>
        ContextIndependence ContextIndependence()
        {
            long counted = 0, consistent = 0;
            foreach (var id in byId.Values.Where(c => c.Occurrences >= o.MinOccurrences))
            {
                counted += id.Occurrences;
                consistent += id.Top1.Max();
            }
            return new ContextIndependence(counted == 0 ? null : (double)consistent / counted, 1.0 / o.Experts, counted, o.MinOccurrences);
        }
    }
}
