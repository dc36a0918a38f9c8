using Moe.Model.Config;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>Which (token, expert) assignments got a slot in the padded [experts, capacity] buffer.</summary>
/// <param name="Token">[N_kept] token row of each kept assignment.</param>
/// <param name="Slot">[N_kept] expert x capacity + position of each kept assignment.</param>
/// <param name="Gate">[N_kept] gate weight of each kept assignment (carries gradient to the router).</param>
/// <param name="TokensPerExpert">[E] assignments routed to each expert before capacity is applied.</param>
/// <param name="Capacity">Slots per expert.</param>
/// <param name="Dropped">Assignments that found no slot.</param>
public sealed record DispatchPlan(Tensor Token, Tensor Slot, Tensor Gate, Tensor TokensPerExpert, long Capacity, long Dropped);

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

        var counts = expert.bincount(null, experts);
        // Position of each assignment inside its expert's queue, keeping the priority order (keys are unique).
        var rank = arange(n, device: device);
        var byExpert = (expert * n + rank).argsort();
        var starts = counts.cumsum(0) - counts;
        var positionSorted = rank - starts.index_select(0, expert.index_select(0, byExpert));
        var position = zeros_like(rank).scatter_(0, byExpert, positionSorted);

        var slots = capacity ?? Math.Max(1, counts.max().item<long>());
        var keep = position < slots;
        var kept = keep.sum().item<long>();
        var plan = new DispatchPlan(
            token.masked_select(keep),
            (expert * slots + position).masked_select(keep),
            gate.masked_select(keep),
            counts,
            slots,
            n - kept);
        foreach (var t in new[] { plan.Token, plan.Slot, plan.Gate, plan.TokensPerExpert }) t.MoveToOuterDisposeScope();
        return plan;
    }
}
