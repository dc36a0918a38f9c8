using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Moe.Platform.Runs;

namespace Moe.Platform.Grains.Workers;

/// <summary>
/// Collects a trainer's stderr lines (stamped as they arrive) and sends them in batches: when <paramref name="maxLines"/>
/// are waiting or <paramref name="maxDelay"/> has passed. A failed send is logged and dropped: a run's log is for people
/// and must never stall or fail training. Dispose sends what is left.
/// </summary>
public sealed class LogShipper : IAsyncDisposable
{
    private readonly Channel<RunLogEntry> _lines = Channel.CreateUnbounded<RunLogEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<RunLogEntry>, Task> _send;
    private readonly int _maxLines;
    private readonly TimeSpan _maxDelay;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Task _pump;

    public LogShipper(Func<IReadOnlyList<RunLogEntry>, Task> send, int maxLines, TimeSpan maxDelay, ILogger logger, TimeProvider? time = null)
    {
        (_send, _maxLines, _maxDelay, _logger, _time) = (send, maxLines, maxDelay, logger, time ?? TimeProvider.System);
        _pump = PumpAsync();
    }

    /// <summary>Queues a line; never blocks (the trainer's stderr pump calls it).</summary>
    public void Add(string line) => _lines.Writer.TryWrite(new RunLogEntry(_time.GetUtcNow(), Truncate(line)));

    static string Truncate(string line) => line.Length <= RunLogEntry.MaxLength ? line : line[..(RunLogEntry.MaxLength - 12)] + " [truncated]";

    private async Task PumpAsync()
    {
        var batch = new List<RunLogEntry>();
        var reader = _lines.Reader;
        while (await reader.WaitToReadAsync())
        {
            var deadline = _time.GetUtcNow() + _maxDelay;
            while (batch.Count < _maxLines)
            {
                while (batch.Count < _maxLines && reader.TryRead(out var entry)) batch.Add(entry);
                var left = deadline - _time.GetUtcNow();
                if (batch.Count >= _maxLines || left <= TimeSpan.Zero) break;
                using var wait = new CancellationTokenSource(left);
                try
                {
                    if (!await reader.WaitToReadAsync(wait.Token)) break; // completed: send what is left
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            if (batch.Count == 0) continue;
            try
            {
                await _send([.. batch]);
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "{Count} log lines of a run were not stored", batch.Count);
            }
            batch.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _pump;
    }
}
