using Moe.Model.Config;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>Which (token, expert) assignments got a slot, grouped by expert (expert 0's first), priority order within each.</summary>
/// <param name="Token">[N_kept] token row of each kept assignment.</param>
/// <param name="Slot">[N_kept] expert x capacity + position: its row in a padded [E x capacity] buffer.</param>
/// <param name="Gate">[N_kept] gate weight of each kept assignment (carries gradient to the router).</param>
/// <param name="TokensPerExpert">[E] assignments routed to each expert before capacity is applied.</param>
/// <param name="KeptPerExpert">Kept assignments of each expert, on the host: the segment lengths of Token.</param>
/// <param name="Capacity">Slots per expert.</param>
/// <param name="Dropped">Assignments that found no slot.</param>
public sealed record DispatchPlan(
    Tensor Token, Tensor Slot, Tensor Gate, Tensor TokensPerExpert, long[] KeptPerExpert, long Capacity, long Dropped);

/// <summary>Expert capacity (GShard, Switch Transformer): each expert takes at most ceil(factor x T x k / E) assignments.</summary>
public static class ExpertCapacity
{
    /// <summary>Slots per expert for T tokens; never more than T, since a token picks an expert at most once.</summary>
    /// <remarks>In decimal: in binary floating point 1.1 x 10 is 11.000000000000002, which would round up to 12.</remarks>
    public static long Slots(double factor, long tokens, int topK, int experts) =>
        Math.Min(tokens, Math.Max(1, (long)Math.Ceiling((decimal)factor * tokens * topK / experts)));

    /// <param name="capacity">Slots per expert, or null for dropless (capacity = busiest expert's load).</param>
    public static DispatchPlan Plan(Tensor expertIndex, Tensor gates, int experts, long? capacity, DropPolicy policy)
    {
        using var scope = NewDisposeScope();
        long tokens = expertIndex.shape[0], k = expertIndex.shape[1], n = tokens * k;
        var device = expertIndex.device;

        // Choice-major order: every token's first choice outranks any second choice, then earlier tokens first.
        var expert = expertIndex.t().reshape(n);
        var token = arange(tokens, device: device).repeat(k);
        var gate = gates.t().reshape(n);
        if (policy == DropPolicy.Probability)
        {
            // Batch-prioritised routing: the most confident assignments claim slots first.
            var byScore = gate.detach().argsort(descending: true);
            expert = expert.index_select(0, byScore);
            token = token.index_select(0, byScore);
            gate = gate.index_select(0, byScore);
        }

        // Group by expert, keeping the priority order inside each group (the keys are unique, so the sort is stable).
        var rank = arange(n, device: device);
        var byExpert = (expert * n + rank).argsort();
        var counts = expert.bincount(null, experts);
        var countsOnHost = Host(counts);
        var slots = capacity ?? Math.Max(1, countsOnHost.Max());
        var sortedExpert = expert.index_select(0, byExpert);
        var starts = counts.cumsum(0) - counts;
        var position = rank - starts.index_select(0, sortedExpert);
        var keep = position < slots;

        var kept = countsOnHost.Select(c => Math.Min(c, slots)).ToArray();
        var plan = new DispatchPlan(
            token.index_select(0, byExpert).masked_select(keep),
            (sortedExpert * slots + position).masked_select(keep),
            gate.index_select(0, byExpert).masked_select(keep),
            counts,
            kept,
            slots,
            n - kept.Sum());
        foreach (var t in new[] { plan.Token, plan.Slot, plan.Gate, plan.TokensPerExpert }) t.MoveToOuterDisposeScope();
        return plan;
    }

    static long[] Host(Tensor t)
    {
        using var cpu = t.cpu();
        return cpu.data<long>().ToArray();
    }
}
