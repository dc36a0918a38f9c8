using System.Text.Json.Nodes;
using Hangfire;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Evaluations;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record RoutingAnalysisRequest(string? RunId, long? CheckpointStep, string? DatasetId, int? DatasetVersion, int? MaxDocs);
public sealed record RoutingAnalysisView(
    Guid Id, string ProjectId, string RunId, long CheckpointStep, string DatasetId, int DatasetVersion, int MaxDocs, JobStatus Status,
    int Attempts, string? Error, JsonNode? Results, Guid? RequestedBy, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt);

/// <summary>
/// /api/v1/routing-analyses: which experts a run's checkpoint sends a dataset's documents to, per genre, per token and
/// by position (<c>moe-trainer analyze routing</c>, run by Hangfire). Viewers of the run's project read; members request.
/// </summary>
public static class RoutingAnalysesApi
{
    public const int MaxDocs = 10_000;

    public static void MapRoutingAnalysesApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/routing-analyses").WithTags("Routing analyses");

        group.MapPost("/", async (RoutingAnalysisRequest request, ProjectAccess access, IBackgroundJobClient jobs, TimeProvider time,
            ILogger<RoutingAnalysisJob> logger, CancellationToken ct) =>
        {
            var runId = PlatformIds.Require(request.RunId, "run_id");
            var project = await access.RequireRunAsync(runId, ProjectRole.Member, ct);
            var db = access.Db;
            int maxDocs = request.MaxDocs ?? 200;
            if (maxDocs is < 1 or > MaxDocs) throw new PlatformException("max_docs", $"must be between 1 and {MaxDocs}");
            var checkpoints = db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId);
            long step = request.CheckpointStep is { } given
                ? await checkpoints.AnyAsync(c => c.Step == given, ct) ? given
                    : throw new PlatformException("checkpoint_step", $"run '{runId}' keeps no checkpoint at step {given}")
                : await checkpoints.MaxAsync(c => (long?)c.Step, ct) ?? throw new PlatformException("run_id", $"run '{runId}' has no checkpoint yet");
            var datasetId = request.DatasetId?.Trim() is { Length: > 0 } id ? id : throw new PlatformException("dataset_id", "is required");
            int version = await EvaluationTarget.ReadyDatasetVersionAsync(db, datasetId, request.DatasetVersion, ct);

            var analysis = new RoutingAnalysis
            {
                ProjectId = project, RunId = runId, CheckpointStep = step, DatasetId = datasetId, DatasetVersion = version, MaxDocuments = maxDocs,
                RequestedBy = access.UserId, CreatedAt = time.GetUtcNow().UtcDateTime,
            };
            db.RoutingAnalyses.Add(analysis);
            await db.SaveChangesAsync(ct);
            var jobId = jobs.Enqueue<RoutingAnalysisJob>(j => j.RunAsync(analysis.Id, null, CancellationToken.None));
            logger.LogInformation("Routing analysis {Id} of run {RunId} step {Step} on {Dataset} v{Version} queued as job {JobId}",
                analysis.Id, runId, step, datasetId, version, jobId);
            return Results.Accepted($"/api/v1/routing-analyses/{analysis.Id}", await GetAsync(db, analysis.Id, withResults: true, ct));
        }).WithSummary("Analyse a checkpoint's routing (newest unless checkpoint_step) on a dataset version's documents (newest ready unless dataset_version); members");

        group.MapGet("/", async ([FromQuery(Name = "run_id")] string? runId, [FromQuery(Name = "project_id")] string? projectId, int? page,
            [FromQuery(Name = "page_size")] int? pageSize, ProjectAccess access, CancellationToken ct) =>
        {
            var (number, size) = EvaluationsApi.Paging(page, pageSize);
            if (runId is not null) await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
            if (projectId is not null) await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
            var visible = await access.VisibleProjectsAsync(ct);
            var query = access.Db.RoutingAnalyses.AsNoTracking()
                .Where(a => visible == null || visible.Contains(a.ProjectId))
                .Where(a => runId == null || a.RunId == runId)
                .Where(a => projectId == null || a.ProjectId == projectId);
            int total = await query.CountAsync(ct);
            var items = await View(query.OrderByDescending(a => a.CreatedAt).ThenBy(a => a.Id).Skip((number - 1) * size).Take(size), false).ToListAsync(ct);
            return new PageOf<RoutingAnalysisView>(items, total, number, size);
        }).WithSummary("Routing analyses you can see, newest first (?run_id= ?project_id= ?page= ?page_size=); results only by id");

        group.MapGet("/{id:guid}", async (Guid id, ProjectAccess access, CancellationToken ct) =>
        {
            var project = await access.Db.RoutingAnalyses.AsNoTracking().Where(a => a.Id == id).Select(a => a.ProjectId).FirstOrDefaultAsync(ct)
                ?? throw PlatformException.NotFound("id", $"routing analysis '{id}' not found");
            await access.RequireAsync(project, ProjectRole.Viewer, ct);
            return await GetAsync(access.Db, id, withResults: true, ct);
        }).WithSummary("A routing analysis: status, attempts, error and the analysis (results: per-layer load, genres, top tokens, drops)");
    }

    static async Task<RoutingAnalysisView> GetAsync(PlatformDb db, Guid id, bool withResults, CancellationToken ct) =>
        await View(db.RoutingAnalyses.AsNoTracking().Where(a => a.Id == id), withResults).SingleAsync(ct);

    static IQueryable<RoutingAnalysisView> View(IQueryable<RoutingAnalysis> analyses, bool withResults) =>
        analyses.Select(a => new RoutingAnalysisView(a.Id, a.ProjectId, a.RunId, a.CheckpointStep, a.DatasetId, a.DatasetVersion, a.MaxDocuments,
            a.Status, a.Attempts, a.Error, withResults ? EvaluationsApi.ParseResults(a.ResultsJson) : null, a.RequestedBy, a.CreatedAt,
            a.StartedAt, a.FinishedAt));
}
