using Moe.Platform.Checkpoints;

namespace Moe.Platform.Grains.Checkpoints;

/// <summary>
/// Which checkpoints of a run retention deletes: every one that is neither among the newest <c>keepLast</c> by step,
/// nor the best by validation loss, nor pinned. The same rule the trainer applies on disk, plus pins.
/// </summary>
public static class CheckpointRetention
{
    /// <summary>The checkpoints to delete, by step ascending. Steps are assumed unique.</summary>
    public static IReadOnlyList<CheckpointRecord> ToDelete(IEnumerable<CheckpointRecord> checkpoints, int keepLast)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentOutOfRangeException.ThrowIfNegative(keepLast);
        var byStep = checkpoints.OrderBy(c => c.Step).ToList();
        var keep = byStep.TakeLast(keepLast).Select(c => c.Step).ToHashSet();
        if (Best(byStep) is { } best) keep.Add(best.Step);
        return byStep.Where(c => !keep.Contains(c.Step) && c.PinnedBy.Count == 0).ToList();
    }

    /// <summary>
    /// The checkpoint with the lowest finite validation loss, or null when none has one. On a tie the earliest step
    /// wins, as in the trainer: a later equal loss does not displace the kept best, so ties cause no churn.
    /// </summary>
    public static CheckpointRecord? Best(IEnumerable<CheckpointRecord> checkpoints) =>
        checkpoints
            .Where(c => c.ValLoss is { } loss && double.IsFinite(loss))
            .OrderBy(c => c.ValLoss)
            .ThenBy(c => c.Step)
            .FirstOrDefault();
}
