namespace Moe.Platform.Worker.Jobs;

/// <summary>
/// The last lines of a stream (the trainer's stderr), bounded in lines and characters so a chatty or runaway
/// process cannot grow the worker's memory; this is the log tail a portal shows. Thread-safe.
/// </summary>
public sealed class BoundedLineTail(int maxLines = 200, int maxLineLength = 2000)
{
    private readonly Queue<string> _lines = new();
    private readonly object _gate = new();
    private long _dropped;

    public int MaxLines { get; } = maxLines > 0 ? maxLines : throw new ArgumentOutOfRangeException(nameof(maxLines));

    /// <summary>Lines that fell out of the tail so far.</summary>
    public long DroppedLines { get { lock (_gate) return _dropped; } }

    public void Add(string line)
    {
        if (line.Length > maxLineLength) line = string.Concat(line.AsSpan(0, maxLineLength), " [truncated]");
        lock (_gate)
        {
            _lines.Enqueue(line);
            while (_lines.Count > MaxLines)
            {
                _lines.Dequeue();
                _dropped++;
            }
        }
    }

    public IReadOnlyList<string> Lines() { lock (_gate) return [.. _lines]; }

    public override string ToString() => string.Join('\n', Lines());
}
