namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// One training run. <see cref="Status"/> is the run state machine's state name (owned by the control plane, stored as
/// text so new states need no migration). <see cref="Version"/> is an optimistic-concurrency token bumped on every
/// save, so two writers (scheduler, worker, API) cannot silently overwrite each other.
/// </summary>
public class Run : IVersioned
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public Guid ExperimentId { get; set; }
    public required string Name { get; set; }
    public required string Status { get; set; }
    public int Priority { get; set; }
    /// <summary>The run config as JSON (jsonb on PostgreSQL).</summary>
    public string ConfigJson { get; set; } = "{}";
    /// <summary>How many times a worker has started it (resumes after failures count).</summary>
    public int Attempt { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? StartedAt { get; set; }
    public DateTime? EndedAt { get; set; }
    public string? WorkerId { get; set; }
    public double? BestValLoss { get; set; }
    public long? LastStep { get; set; }
    public long Version { get; set; }

    public Experiment? Experiment { get; set; }
    public List<RunTransition> Transitions { get; set; } = [];
    public List<Checkpoint> Checkpoints { get; set; } = [];
}

/// <summary>An audit record of one state change of a run.</summary>
public class RunTransition
{
    public long Id { get; set; }
    public Guid RunId { get; set; }
    public required string From { get; set; }
    public required string To { get; set; }
    public DateTime At { get; set; } = DateTime.UtcNow;
    public string? Reason { get; set; }
}

/// <summary>An entity whose <see cref="Version"/> <see cref="PlatformDb"/> increments on every save (concurrency token).</summary>
public interface IVersioned
{
    long Version { get; set; }
}
