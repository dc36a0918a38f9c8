namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// One training run. <see cref="Status"/> is the run state machine's state name (owned by the control plane, stored as
/// text so new states need no migration). <see cref="Version"/> is an optimistic-concurrency token bumped on every
/// save, so two writers (scheduler, worker, API) cannot silently overwrite each other.
/// </summary>
public class Run : IVersioned
{
    public const int MaxIdLength = 64;

    /// <summary>The Run grain's key.</summary>
    public required string Id { get; set; }
    public required string ExperimentId { get; set; }
    public required string Name { get; set; }
    public required string Status { get; set; }
    public int Priority { get; set; }
    /// <summary>What it asks of a worker: GPUs, GPU memory per GPU (bytes), CPU slots.</summary>
    public int Gpus { get; set; }
    public long GpuMemoryBytes { get; set; }
    public int CpuSlots { get; set; }
    public int MaxRetries { get; set; }
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
    /// <summary>The config's training.steps: how far <see cref="LastStep"/> has to go.</summary>
    public long? TotalSteps { get; set; }
    public long Version { get; set; }

    public Experiment? Experiment { get; set; }
    public List<RunTransition> Transitions { get; set; } = [];
    public List<Checkpoint> Checkpoints { get; set; } = [];
}

/// <summary>An audit record of one state change of a run.</summary>
public class RunTransition
{
    public long Id { get; set; }
    public required string RunId { get; set; }
    /// <summary>Position in the run's history (0, 1, ...): the projection appends the entries it has not stored yet.</summary>
    public int Sequence { get; set; }
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
