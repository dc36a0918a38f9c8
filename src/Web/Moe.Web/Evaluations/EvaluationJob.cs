using System.Globalization;
using System.Text.Json.Nodes;
using Hangfire;
using Hangfire.Server;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Portal;

namespace Moe.Web.Evaluations;

/// <summary>
/// Hangfire's evaluation jobs: one evaluation of one checkpoint with <c>moe-trainer eval --json</c> (docs/evaluation.md),
/// and the recurring job of a schedule, which starts one. Retries follow <see cref="EvaluationOptions.RetryDelays"/>.
/// </summary>
public sealed class EvaluationJob(
    TrainerJobRunner runner, EvaluationLauncher launcher, IDbContextFactory<PlatformDb> databases, ILogger<EvaluationJob> logger)
{
    /// <summary>The recurring job of schedule <paramref name="scheduleId"/>: records an evaluation and queues it.</summary>
    [JobDisplayName("Evaluation schedule {0}")]
    public async Task RunScheduleAsync(Guid scheduleId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var schedule = await db.EvaluationSchedules.FirstOrDefaultAsync(s => s.Id == scheduleId, cancellationToken);
        if (schedule is null || !schedule.Enabled)
        {
            logger.LogWarning("Evaluation schedule {Schedule} is {State}; nothing to do", scheduleId, schedule is null ? "gone" : "disabled");
            return;
        }
        await launcher.StartScheduledAsync(db, schedule, "schedule", cancellationToken);
    }

    /// <summary>One evaluation; <paramref name="context"/> and <paramref name="cancellationToken"/> are Hangfire's (pass null and None).</summary>
    [JobDisplayName("Evaluation {0}")]
    public Task RunAsync(Guid evaluationId, EvaluationSpec spec, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAttemptAsync<Evaluation>(evaluationId, context, async (db, evaluation, folder, ct) =>
        {
            var checkpoint = await CheckpointAsync(db, evaluation, spec, ct);
            evaluation.CheckpointStep = checkpoint.Step;
            await db.SaveChangesAsync(ct);

            var arguments = new List<string> { "eval", "--checkpoint", await runner.DownloadCheckpointAsync(checkpoint, folder, ct), "--json" };
            string? dataset = null;
            if (spec.DatasetId is not null)
            {
                var version = await runner.DatasetVersionAsync(spec.DatasetId, spec.DatasetVersion);
                dataset = $"dataset:{version.DatasetId}@{version.Version}";
                arguments.AddRange(["--data", await runner.DownloadPreparedAsync(version, folder, ct), "--windows", Invariant(spec.Windows)]);
            }
            if (spec.ArithmeticProblems > 0) arguments.AddRange(["--arithmetic", Invariant(spec.ArithmeticProblems)]);

            var results = await runner.RunTrainerAsync(arguments, folder, ct);
            Record(evaluation, results, checkpoint, dataset);
            logger.LogInformation("Evaluation {Id} of run {RunId} step {Step}: val_loss {ValLoss}, exact_match {ExactMatch}",
                evaluation.Id, checkpoint.RunId, checkpoint.Step, evaluation.ValLoss, evaluation.ExactMatch);
        }, cancellationToken);

    /// <summary>The model version's checkpoint, or the run's newest one now.</summary>
    static async Task<Checkpoint> CheckpointAsync(PlatformDb db, Evaluation evaluation, EvaluationSpec spec, CancellationToken ct)
    {
        if (spec.ModelVersionId is { } versionId)
            return await db.ModelVersions.AsNoTracking().Where(m => m.Id == versionId).Select(m => m.Checkpoint!).FirstOrDefaultAsync(ct)
                ?? throw new InvalidOperationException("the model version to evaluate has been deleted");
        var runId = evaluation.RunId ?? throw new InvalidOperationException("the run to evaluate has been deleted");
        return await db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId).OrderByDescending(c => c.Step).FirstOrDefaultAsync(ct)
            ?? throw new InvalidOperationException($"run '{runId}' has no checkpoint yet");
    }

    /// <summary>
    /// The headline columns from the trainer's JSON (the worst MoE layer's balance and drops), and the JSON itself with
    /// the scratch paths replaced by what they were copies of.
    /// </summary>
    public static void Record(Evaluation evaluation, JsonObject results, Checkpoint checkpoint, string? dataset)
    {
        results["checkpoint"] = checkpoint.ArtifactPrefix;
        results["run_id"] = checkpoint.RunId;
        if (dataset is not null && results.ContainsKey("data")) results["data"] = dataset;
        evaluation.ValLoss = JsonRead.Double(results["val_loss"]);
        evaluation.ValPpl = JsonRead.Double(results["val_ppl"]);
        evaluation.ExactMatch = JsonRead.Double(results["arithmetic"]?["exact_match"]);
        var layers = results["router"] as JsonArray ?? [];
        evaluation.MaxOverMean = layers.Select(l => JsonRead.Double(l?["max_over_mean"])).Max();
        evaluation.DropFraction = layers.Select(l => JsonRead.Double(l?["drop_fraction"])).Max();
        evaluation.ResultsJson = results.ToJsonString();
    }

    static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
