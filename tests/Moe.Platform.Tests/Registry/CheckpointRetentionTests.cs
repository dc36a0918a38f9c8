using Moe.Platform.Checkpoints;
using Moe.Platform.Grains.Checkpoints;

namespace Moe.Platform.Tests.Registry;

/// <summary>Retention worked by hand: what stays is the newest K by step, the best by val loss, and every pinned one.</summary>
public sealed class CheckpointRetentionTests
{
    private static CheckpointRecord C(long step, double? loss = null, params string[] pinnedBy) =>
        new("run-1", step, $"runs/run-1/checkpoints/step-{step:D8}", new string('0', 64), 10, loss, default, pinnedBy);

    private static long[] Deleted(int keepLast, params CheckpointRecord[] checkpoints) =>
        [.. CheckpointRetention.ToDelete(checkpoints, keepLast).Select(c => c.Step)];

    [Fact]
    public void Keeps_the_newest_K_by_step_whatever_the_input_order()
    {
        Assert.Equal([100, 200, 300], Deleted(2, C(500), C(100), C(400), C(300), C(200)));
    }

    [Fact]
    public void Keeps_nothing_extra_when_there_are_K_or_fewer()
    {
        Assert.Empty(Deleted(3, C(1), C(2), C(3)));
        Assert.Empty(Deleted(3));
    }

    [Fact]
    public void Keeps_the_best_by_val_loss_even_when_it_is_old()
    {
        // Newest two are 4 and 5; step 2 has the lowest loss.
        Assert.Equal([1, 3], Deleted(2, C(1, 2.0), C(2, 1.0), C(3, 1.5), C(4, 1.8), C(5, 1.9)));
    }

    [Fact]
    public void A_best_among_the_newest_keeps_nothing_more()
    {
        Assert.Equal([1, 2], Deleted(2, C(1, 2.0), C(2, 1.9), C(3, 1.8), C(4, 1.0)));
    }

    [Fact]
    public void Keeps_every_pinned_checkpoint()
    {
        Assert.Equal([2, 4], Deleted(1, C(1, null, "model:a/1"), C(2), C(3, null, "model:a/2", "model:b/1"), C(4), C(5)));
    }

    [Fact]
    public void On_a_tie_the_earliest_best_is_kept()
    {
        // Steps 1 and 3 tie at 1.0: step 1 stays the best, so a later equal loss does not displace it.
        Assert.Equal([2, 3], Deleted(1, C(1, 1.0), C(2, 1.5), C(3, 1.0), C(4, 1.2)));
        Assert.Equal(1, CheckpointRetention.Best([C(3, 1.0), C(1, 1.0)])!.Step);
    }

    [Fact]
    public void Checkpoints_without_a_finite_loss_are_never_the_best()
    {
        Assert.Equal([1, 3], Deleted(1, C(1, double.NaN), C(2, 3.0), C(3), C(4, double.NegativeInfinity)));
        Assert.Null(CheckpointRetention.Best([C(1), C(2, double.NaN)]));
    }

    [Fact]
    public void K_zero_keeps_only_the_best_and_the_pinned()
    {
        Assert.Equal([3], Deleted(0, C(1, 2.0, "model:a/1"), C(2, 1.0), C(3, 1.5)));
        Assert.Equal([1, 2], Deleted(0, C(1), C(2)));
    }

    [Fact]
    public void Negative_K_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CheckpointRetention.ToDelete([C(1)], -1));
    }
}
