using Moe.Platform.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Events;

namespace Moe.Platform.Worker.Metrics;

/// <summary>
/// Collects the metric points of step and eval events and hands them to <c>flush</c> in batches: when
/// <c>maxPoints</c> are pending, and at the latest <c>maxDelay</c> after the first pending point (a slow run's curves
/// still move). Flushes run one at a time, in order. A failed flush keeps its points for the next one: the store
/// upserts by (run, name, step), so sending a point twice is harmless while losing one is not.
/// </summary>
public sealed class MetricBatcher : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<MetricPoint>, CancellationToken, Task> _flush;
    private readonly int _maxPoints;
    private readonly TimeSpan _maxDelay;
    private readonly ILogger _logger;
    private readonly object _pendingGate = new();
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly CancellationTokenSource _stopTimer = new();
    private readonly Task _timerLoop;
    private List<MetricPoint> _pending = [];
    private DateTime? _oldestPendingUtc;

    public MetricBatcher(Func<IReadOnlyList<MetricPoint>, CancellationToken, Task> flush, int maxPoints = 1000,
        TimeSpan? maxDelay = null, ILogger? logger = null)
    {
        _flush = flush ?? throw new ArgumentNullException(nameof(flush));
        _maxPoints = maxPoints > 0 ? maxPoints : throw new ArgumentOutOfRangeException(nameof(maxPoints));
        _maxDelay = maxDelay ?? TimeSpan.FromSeconds(2);
        if (_maxDelay <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(maxDelay));
        _logger = logger ?? NullLogger.Instance;
        _timerLoop = FlushOnTimeAsync(_stopTimer.Token);
    }

    /// <summary>Points waiting for a flush.</summary>
    public int PendingCount { get { lock (_pendingGate) return _pending.Count; } }

    /// <summary>Adds the event's points (none for events without metrics); flushes when the batch is full.</summary>
    public async Task AddAsync(TrainerEvent trainerEvent, CancellationToken cancellationToken = default)
    {
        bool full;
        lock (_pendingGate)
        {
            var before = _pending.Count;
            _pending.AddRange(TrainerMetricPoints.From(trainerEvent));
            if (_pending.Count > before) _oldestPendingUtc ??= DateTime.UtcNow;
            full = _pending.Count >= _maxPoints;
        }
        if (full) await FlushAsync(cancellationToken);
    }

    /// <summary>Hands every pending point to the delegate now (nothing when none is pending).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushGate.WaitAsync(cancellationToken);
        try
        {
            List<MetricPoint> batch;
            lock (_pendingGate)
            {
                if (_pending.Count == 0) return;
                (batch, _pending, _oldestPendingUtc) = (_pending, [], null);
            }
            try
            {
                await _flush(batch, cancellationToken);
            }
            catch
            {
                lock (_pendingGate)
                {
                    batch.AddRange(_pending); // keep the order: the failed batch first
                    (_pending, _oldestPendingUtc) = (batch, DateTime.UtcNow);
                }
                throw;
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    private async Task FlushOnTimeAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(_maxDelay.Ticks / 4, TimeSpan.TicksPerMillisecond)));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                bool due;
                lock (_pendingGate) due = _oldestPendingUtc is { } oldest && DateTime.UtcNow - oldest >= _maxDelay;
                if (!due) continue;
                try
                {
                    await FlushAsync(stop);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogWarning(e, "flushing {Count} metric points failed; retrying later", PendingCount);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    /// <summary>Stops the timer and flushes what is pending (a failure propagates: those points were not stored).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopTimer.CancelAsync();
        await _timerLoop;
        _stopTimer.Dispose();
        await FlushAsync();
    }
}
