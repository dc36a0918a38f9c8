namespace Moe.Platform.Grains.Runs;

/// <summary>What the scheduler must hear after a run's change, so its books match the run.</summary>
internal enum SchedulerNotice
{
    /// <summary>Nothing the scheduler does not already know (it made the change itself, or it books nothing).</summary>
    None,
    /// <summary>The run is Queued again and waits for placement.</summary>
    Enqueue,
    /// <summary>The process started.</summary>
    Started,
    /// <summary>The run has ended and holds nothing.</summary>
    Release,
}
