namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// One line a run's trainer wrote to stderr (its human progress and errors), shipped by the worker so the portal can
/// tail a run's log whichever machine it ran on. <see cref="Sequence"/> orders lines within a run across attempts.
/// </summary>
public class RunLogLine
{
    public const int MaxLineLength = 4000;

    public long Id { get; set; }
    public required string RunId { get; set; }
    public int Attempt { get; set; }
    public long Sequence { get; set; }
    public DateTime At { get; set; } = DateTime.UtcNow;
    public required string Line { get; set; }
}
