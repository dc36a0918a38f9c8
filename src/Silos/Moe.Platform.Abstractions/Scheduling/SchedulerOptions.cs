namespace Moe.Platform.Scheduling;

/// <summary>How often the scheduler plans on its own and when it gives a silent worker up.</summary>
public sealed class SchedulerOptions
{
    /// <summary>Interval of the scheduler's own passes (expire silent workers, then place); zero turns them off.</summary>
    public TimeSpan PassInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A worker whose last heartbeat is older than this is gone: its runs go back to the queue.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
