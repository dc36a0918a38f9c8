using System.Text.Json.Nodes;
using Hangfire;
using Microsoft.AspNetCore.Mvc;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Evaluations;
using Moe.Web.Queries;
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
    public const int MaxDocs = RoutingAnalysisQueries.MaxDocs;

    public static void MapRoutingAnalysesApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/routing-analyses").WithTags("Routing analyses");

        group.MapPost("/", async (RoutingAnalysisRequest request, ProjectAccess access, IBackgroundJobClient jobs, TimeProvider time,
            ILogger<RoutingAnalysisJob> logger, CancellationToken ct) =>
        {
            var analysis = await RoutingAnalysisQueries.StartAsync(access, jobs, time, logger, request, ct);
            return Results.Accepted($"/api/v1/routing-analyses/{analysis.Id}", analysis);
        }).WithSummary("Analyse a checkpoint's routing (newest unless checkpoint_step) on a dataset version's documents (newest ready unless dataset_version); members");

        group.MapGet("/", ([FromQuery(Name = "run_id")] string? runId, [FromQuery(Name = "project_id")] string? projectId, int? page,
            [FromQuery(Name = "page_size")] int? pageSize, ProjectAccess access, CancellationToken ct) =>
            RoutingAnalysisQueries.ListAsync(access, runId, projectId, page, pageSize, ct))
            .WithSummary("Routing analyses you can see, newest first (?run_id= ?project_id= ?page= ?page_size=); results only by id");

        group.MapGet("/{id:guid}", (Guid id, ProjectAccess access, CancellationToken ct) => RoutingAnalysisQueries.GetAsync(access, id, ct))
            .WithSummary("A routing analysis: status, attempts, error and the analysis (results: per-layer load, genres, top tokens, drops)");
    }
}
