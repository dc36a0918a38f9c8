using Orleans;

namespace Moe.Platform.Runs;

/// <summary>One line a run's trainer wrote to stderr, stamped when the worker read it.</summary>
[GenerateSerializer, Immutable]
public sealed record RunLogEntry(DateTimeOffset At, string Line)
{
    public const int MaxLength = 4000;
}
