using System.Text.Json.Nodes;

namespace Moe.Platform.Worker.Events;

/// <summary>
/// One line of <c>moe-trainer train --json</c> output, typed (format: docs/metrics.md). Losses that were not finite
/// (written as null) are NaN. <c>Raw</c> keeps the whole record for fields not lifted into properties.
/// </summary>
public abstract record TrainerEvent;

/// <summary>A trainer event that carries a record from the trainer (everything but <see cref="MalformedLine"/>).</summary>
/// <param name="Step">Optimiser steps completed when the record was written.</param>
public abstract record TrainerRecord(long Step, JsonObject Raw) : TrainerEvent;

/// <summary><c>start</c>: a process begins or resumes the run; <paramref name="ResumedFrom"/> is the checkpoint folder or null.</summary>
public sealed record TrainingStarted(long Step, string Run, string Device, string Dtype, long TotalSteps, long TokensPerStep,
    string? ResumedFrom, JsonObject Raw) : TrainerRecord(Step, Raw);

/// <summary><c>step</c>: one optimiser step. <paramref name="Router"/> holds one entry per MoE layer.</summary>
public sealed record TrainingStep(long Step, long Tokens, double Loss, double LmLoss, double AuxLoss, double? MtpLoss,
    double Lr, double GradNorm, double TokensPerSecond, IReadOnlyList<RouterLayerStats> Router, JsonObject Raw)
    : TrainerRecord(Step, Raw);

/// <summary><c>eval</c>: validation loss and perplexity at a step.</summary>
public sealed record EvalCompleted(long Step, double ValLoss, double ValPpl, JsonObject Raw) : TrainerRecord(Step, Raw);

/// <summary>
/// <c>checkpoint</c>: the folder <paramref name="Path"/> is complete on disk; <paramref name="DeletedSteps"/> are the
/// checkpoints retention removed right after writing it.
/// </summary>
public sealed record CheckpointWritten(long Step, string Path, double ValLoss, long? BestStep, IReadOnlyList<long> DeletedSteps,
    JsonObject Raw) : TrainerRecord(Step, Raw);

/// <summary><c>end</c>: the process stops; <paramref name="Reason"/> is completed, step_limit or cancelled.</summary>
public sealed record TrainingEnded(long Step, string Reason, double? BestValLoss, long? BestStep, JsonObject Raw)
    : TrainerRecord(Step, Raw);

/// <summary>
/// A stdout line that is not a trainer record (not JSON, a field missing or of the wrong type, an unknown record
/// type): reported, never fatal, since a stray native-library message on stdout must not bring a job down.
/// </summary>
/// <param name="LineNumber">1-based line number on the process's stdout.</param>
public sealed record MalformedLine(long LineNumber, string Text, string Problem) : TrainerEvent;
