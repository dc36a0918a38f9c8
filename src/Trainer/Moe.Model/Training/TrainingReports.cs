using Moe.Model.Model;

namespace Moe.Model.Training;

/// <summary>Hooks and limits of one training session (not part of the run's configuration).</summary>
public sealed record TrainerOptions
{
    /// <summary>Stop, with a checkpoint, once this many steps are done (a time-boxed session; the schedule is unchanged).</summary>
    public long? StopAfterStep { get; init; }
    /// <summary>Also write every metrics line here (e.g. stdout for a supervising process).</summary>
    public TextWriter? MetricsEcho { get; init; }
    public Action<StepReport>? OnStep { get; init; }
    public Action<EvalReport>? OnEval { get; init; }
    public Action<string>? Log { get; init; }
}

/// <summary>One optimiser step. Losses are the mean over the step's micro-batches.</summary>
public sealed record StepReport(
    long Step, long TotalSteps, long TokensSeen, float Loss, float LmLoss, float AuxLoss, float? MtpLoss,
    double Lr, double GradNorm, double TokensPerSecond, IReadOnlyList<RouterStats> Router);

public sealed record EvalReport(long Step, double ValLoss, double Perplexity, double BestValLoss);

public enum StopReason { Completed, StepLimit, Cancelled }

public sealed record TrainResult(long Step, StopReason Reason, double? LastValLoss, double? BestValLoss, long? BestStep, string? LastCheckpoint);

/// <summary>The loss became NaN or infinite: training cannot continue from here.</summary>
public sealed class TrainingDivergedException(long step, float loss)
    : Exception($"loss is {loss} at step {step}: training diverged (try a lower training.lr or a smaller training.grad_clip)");
