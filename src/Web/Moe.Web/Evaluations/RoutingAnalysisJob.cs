using System.Globalization;
using Hangfire;
using Hangfire.Server;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Evaluations;

/// <summary>
/// Hangfire's routing-analysis job: <c>moe-trainer analyze routing --json</c> (docs/routing-analysis.md) over a dataset
/// version's source documents, grouped by their <c>category</c> field (Brown's genres; <c>all</c> when absent).
/// </summary>
public sealed class RoutingAnalysisJob(TrainerJobRunner runner, ILogger<RoutingAnalysisJob> logger)
{
    /// <summary>The JSON field naming a document's group: Brown's records carry their genre there.</summary>
    public const string GroupField = "category";

    /// <summary>One analysis; <paramref name="context"/> and <paramref name="cancellationToken"/> are Hangfire's (pass null and None).</summary>
    [JobDisplayName("Routing analysis {0}")]
    public Task RunAsync(Guid analysisId, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAttemptAsync<RoutingAnalysis>(analysisId, context, async (db, analysis, folder, ct) =>
        {
            var checkpoint = await db.Checkpoints.AsNoTracking().FirstOrDefaultAsync(c => c.RunId == analysis.RunId && c.Step == analysis.CheckpointStep, ct)
                ?? throw new InvalidOperationException($"run '{analysis.RunId}' no longer keeps a checkpoint at step {analysis.CheckpointStep}");
            var checkpointFolder = await runner.DownloadCheckpointAsync(checkpoint, folder, ct);
            var version = await runner.DatasetVersionAsync(analysis.DatasetId, analysis.DatasetVersion);
            var inputs = await runner.DownloadSourcesAsync(version, folder, ct);

            var results = await runner.RunTrainerAsync(
            [
                "analyze", "routing", "--checkpoint", checkpointFolder, "--input", string.Join(',', inputs), "--json",
                "--max-docs", analysis.MaxDocuments.ToString(CultureInfo.InvariantCulture), "--group-field", GroupField,
            ], folder, ct);
            // The scratch copies are gone once the job ends: name what they were copies of.
            results["checkpoint"] = checkpoint.ArtifactPrefix;
            results["run_id"] = checkpoint.RunId;
            results["dataset"] = $"dataset:{version.DatasetId}@{version.Version}";
            analysis.ResultsJson = results.ToJsonString();
            logger.LogInformation("Routing analysis {Id} of run {RunId} step {Step}: {Documents} documents, {Tokens} tokens",
                analysis.Id, analysis.RunId, analysis.CheckpointStep, results["documents"], results["tokens"]);
        }, cancellationToken);
}
