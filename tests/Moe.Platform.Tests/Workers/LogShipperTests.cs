using Microsoft.Extensions.Logging.Abstractions;
using Moe.Platform.Grains.Workers;
using Moe.Platform.Runs;

namespace Moe.Platform.Tests.Workers;

public sealed class LogShipperTests
{
    [Fact]
    public async Task Lines_go_out_in_order_in_batches_of_at_most_max_lines_and_the_rest_at_dispose()
    {
        var batches = new List<IReadOnlyList<RunLogEntry>>();
        var shipper = new LogShipper(batch => { lock (batches) batches.Add(batch); return Task.CompletedTask; }, maxLines: 4,
            maxDelay: TimeSpan.FromMinutes(1), NullLogger.Instance);
        for (int i = 0; i < 10; i++) shipper.Add($"line {i}");
        await shipper.DisposeAsync();

        Assert.All(batches, b => Assert.InRange(b.Count, 1, 4));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"line {i}"), batches.SelectMany(b => b).Select(e => e.Line));
    }

    [Fact]
    public async Task A_quiet_trainer_line_is_sent_after_max_delay_and_a_failing_send_does_not_stop_shipping()
    {
        int calls = 0;
        var sent = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var shipper = new LogShipper(batch =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("database down");
            sent.TrySetResult(batch[0].Line);
            return Task.CompletedTask;
        }, maxLines: 100, maxDelay: TimeSpan.FromMilliseconds(50), NullLogger.Instance);

        shipper.Add("lost");
        await Task.Delay(300, TestContext.Current.CancellationToken);
        shipper.Add(new string('x', RunLogEntry.MaxLength + 10));
        var line = await sent.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(RunLogEntry.MaxLength, line.Length);
        Assert.EndsWith("[truncated]", line);
    }
}
