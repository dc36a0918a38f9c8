using Hangfire;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Evaluations;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>
/// The reads and the command behind the routing-analyses API and the portal's routing pages: viewers of the run's
/// project read, members request an analysis, with the same checks, views and refusals.
/// </summary>
public static class RoutingAnalysisQueries
{
    public const int MaxDocs = 10_000, DefaultMaxDocs = 200;

    /// <summary>
    /// Queues an analysis of a run's checkpoint (the newest kept unless <c>checkpoint_step</c>) on a dataset version's
    /// documents (the newest ready unless <c>dataset_version</c>); members of the run's project. 400 naming the field.
    /// </summary>
    public static async Task<RoutingAnalysisView> StartAsync(ProjectAccess access, IBackgroundJobClient jobs, TimeProvider time, ILogger logger,
        RoutingAnalysisRequest request, CancellationToken ct)
    {
        var runId = PlatformIds.Require(request.RunId, "run_id");
        var project = await access.RequireRunAsync(runId, ProjectRole.Member, ct);
        var db = access.Db;
        int maxDocs = request.MaxDocs ?? DefaultMaxDocs;
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
        return await GetAsync(db, analysis.Id, withResults: true, ct);
    }

    /// <summary>Analyses the user can see, newest first, without their results (?run_id and ?project_id need the viewer role).</summary>
    public static async Task<PageOf<RoutingAnalysisView>> ListAsync(ProjectAccess access, string? runId, string? projectId, int? page, int? pageSize,
        CancellationToken ct)
    {
        var paging = Paging.Check(page, pageSize);
        if (runId is not null) await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
        if (projectId is not null) await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
        var visible = await access.VisibleProjectsAsync(ct);
        var query = access.Db.RoutingAnalyses.AsNoTracking()
            .Where(a => visible == null || visible.Contains(a.ProjectId))
            .Where(a => runId == null || a.RunId == runId)
            .Where(a => projectId == null || a.ProjectId == projectId);
        return await Paging.PageAsync(query, q => q.OrderByDescending(a => a.CreatedAt).ThenBy(a => a.Id), q => View(q, false), paging, ct);
    }

    /// <summary>An analysis with its results (viewers of its project; 404 naming "id" when there is none).</summary>
    public static async Task<RoutingAnalysisView> GetAsync(ProjectAccess access, Guid id, CancellationToken ct)
    {
        var project = await access.Db.RoutingAnalyses.AsNoTracking().Where(a => a.Id == id).Select(a => a.ProjectId).FirstOrDefaultAsync(ct)
            ?? throw PlatformException.NotFound("id", $"routing analysis '{id}' not found");
        await access.RequireAsync(project, ProjectRole.Viewer, ct);
        return await GetAsync(access.Db, id, withResults: true, ct);
    }

    /// <summary>Whether the user may request analyses of the run (member of its project); false when it does not exist.</summary>
    public static async Task<bool> CanAnalyseAsync(ProjectAccess access, string runId, CancellationToken ct)
    {
        var project = await access.Db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => r.Experiment!.Project).FirstOrDefaultAsync(ct);
        return project is not null && await access.RoleAsync(project, ct) >= ProjectRole.Member;
    }

    static async Task<RoutingAnalysisView> GetAsync(PlatformDb db, Guid id, bool withResults, CancellationToken ct) =>
        await View(db.RoutingAnalyses.AsNoTracking().Where(a => a.Id == id), withResults).SingleAsync(ct);

    static IQueryable<RoutingAnalysisView> View(IQueryable<RoutingAnalysis> analyses, bool withResults) =>
        analyses.Select(a => new RoutingAnalysisView(a.Id, a.ProjectId, a.RunId, a.CheckpointStep, a.DatasetId, a.DatasetVersion, a.MaxDocuments,
            a.Status, a.Attempts, a.Error, withResults ? EvaluationQueries.ParseResults(a.ResultsJson) : null, a.RequestedBy, a.CreatedAt,
            a.StartedAt, a.FinishedAt));
}
