using Microsoft.Extensions.Logging;

namespace Moe.Platform.Worker.Jobs;

/// <summary>Knobs of a <see cref="TrainingJob"/>.</summary>
public sealed record TrainingJobOptions
{
    /// <summary>How many stderr lines the job keeps (the log tail shown to users and put in a failure).</summary>
    public int StderrTailLines { get; init; } = 200;

    /// <summary>
    /// How long to wait, after the process exits, for its stdout and stderr to reach end of file. Only a grandchild that
    /// inherited the pipes could hold them open longer; the job then completes without the rest.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Called with every stderr line as it arrives (the worker ships them as the run's log); must not block.</summary>
    public Action<string>? StderrLine { get; init; }

    /// <summary>Where malformed lines and supervision problems are logged; null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
