namespace Moe.Platform.Storage.Metadata;

/// <summary>Where a background job (an evaluation, a routing analysis) is; failures are retried with backoff.</summary>
public enum JobStatus { Queued, Running, Succeeded, Failed }

/// <summary>
/// A recurring evaluation (a Hangfire recurring job per row, re-registered at start): on its cron schedule it evaluates
/// the newest checkpoint of a run, or a model version by number or alias ("production"), on held-out data.
/// </summary>
public class EvaluationSchedule
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public required string ProjectId { get; set; }
    public required string Name { get; set; }
    /// <summary>The run whose newest checkpoint is evaluated; or null with <see cref="ModelName"/> set.</summary>
    public string? RunId { get; set; }
    public string? ModelName { get; set; }
    /// <summary>A version number or alias of <see cref="ModelName"/>; null: its newest version.</summary>
    public string? ModelVersion { get; set; }
    /// <summary>A prepared dataset whose validation split gives validation loss and perplexity; null skips them.</summary>
    public string? DatasetId { get; set; }
    public int? DatasetVersion { get; set; }
    public int Windows { get; set; } = 64;
    /// <summary>Problems of the synthetic arithmetic set for exact-match accuracy; 0 skips it.</summary>
    public int ArithmeticProblems { get; set; }
    /// <summary>Five-field cron expression (UTC).</summary>
    public required string Cron { get; set; }
    public bool Enabled { get; set; } = true;
    public Guid? CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? LastRunAt { get; set; }
}

/// <summary>
/// One evaluation of one checkpoint: the headline numbers as columns (charted over time) and everything the evaluator
/// printed in <see cref="ResultsJson"/> (per-layer expert balance, arithmetic examples).
/// </summary>
public class Evaluation
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public Guid? ScheduleId { get; set; }
    public required string ProjectId { get; set; }
    public string? RunId { get; set; }
    public Guid? ModelVersionId { get; set; }
    public required string Name { get; set; }
    /// <summary>"schedule" or "manual".</summary>
    public string Trigger { get; set; } = "manual";
    public JobStatus Status { get; set; } = JobStatus.Queued;
    public int Attempts { get; set; }
    public string? Error { get; set; }
    /// <summary>The step of the checkpoint evaluated (resolved when the job starts).</summary>
    public long? CheckpointStep { get; set; }
    public double? ValLoss { get; set; }
    public double? ValPpl { get; set; }
    public double? ExactMatch { get; set; }
    /// <summary>Busiest expert over the mean, the worst MoE layer.</summary>
    public double? MaxOverMean { get; set; }
    public double? DropFraction { get; set; }
    public string ResultsJson { get; set; } = "{}";
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

/// <summary>
/// How a checkpoint routes the documents of a dataset (expert share per genre, tokens each expert receives most, how
/// context-independent routing is, drops by position): computed by a background job, stored as JSON for the portal.
/// </summary>
public class RoutingAnalysis
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public required string ProjectId { get; set; }
    public required string RunId { get; set; }
    public long CheckpointStep { get; set; }
    public required string DatasetId { get; set; }
    public int DatasetVersion { get; set; }
    public int MaxDocuments { get; set; } = 200;
    public JobStatus Status { get; set; } = JobStatus.Queued;
    public int Attempts { get; set; }
    public string? Error { get; set; }
    public string? ResultsJson { get; set; }
    public Guid? RequestedBy { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}
