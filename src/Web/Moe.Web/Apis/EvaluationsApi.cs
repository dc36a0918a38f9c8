using System.Text.Json.Nodes;
using Hangfire;
using Microsoft.AspNetCore.Mvc;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Evaluations;
using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record ScheduleRequest(
    string? ProjectId, string? Name, string? RunId, string? ModelName, string? ModelVersion, string? DatasetId, int? DatasetVersion,
    int? Windows, int? ArithmeticProblems, string? Cron, bool? Enabled);
public sealed record EvaluationRequest(
    string? ProjectId, string? Name, string? RunId, string? ModelName, string? ModelVersion, string? DatasetId, int? DatasetVersion,
    int? Windows, int? ArithmeticProblems);
public sealed record ScheduleView(
    Guid Id, string ProjectId, string Name, string? RunId, string? ModelName, string? ModelVersion, string? DatasetId, int? DatasetVersion,
    int Windows, int ArithmeticProblems, string Cron, bool Enabled, DateTime CreatedAt, DateTime? LastRunAt);
public sealed record EvaluationView(
    Guid Id, Guid? ScheduleId, string ProjectId, string? RunId, string? Model, int? ModelVersion, string Name, string Trigger, JobStatus Status,
    int Attempts, string? Error, long? CheckpointStep, double? ValLoss, double? ValPpl, double? ExactMatch, double? MaxOverMean,
    double? DropFraction, JsonNode? Results, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt);

/// <summary>
/// /api/v1/evaluation-schedules and /api/v1/evaluations: recurring evaluations of a run's newest checkpoint or of a model
/// version (validation loss and expert balance on a dataset, arithmetic exact match), run by Hangfire; and their results.
/// Viewers read; members create, change and run.
/// </summary>
public static class EvaluationsApi
{
    public static void MapEvaluationsApi(this RouteGroupBuilder api)
    {
        var schedules = api.MapGroup("/evaluation-schedules").WithTags("Evaluations");

        schedules.MapPost("/", async (ScheduleRequest request, ProjectAccess access, IRecurringJobManager recurring, TimeProvider time, CancellationToken ct) =>
        {
            var schedule = await EvaluationQueries.CreateScheduleAsync(access, recurring, time, request, ct);
            return Results.Created($"/api/v1/evaluation-schedules/{schedule.Id}", schedule);
        }).WithSummary("Evaluate a run's newest checkpoint or a model version (number or alias) on a cron schedule (UTC); members");

        schedules.MapGet("/", ([FromQuery(Name = "project_id")] string? projectId, ProjectAccess access, CancellationToken ct) =>
            EvaluationQueries.ListSchedulesAsync(access, projectId, ct)).WithSummary("Schedules of the projects you can see (?project_id=)");

        schedules.MapGet("/{id:guid}", (Guid id, ProjectAccess access, CancellationToken ct) => EvaluationQueries.GetScheduleAsync(access, id, ct));

        schedules.MapPut("/{id:guid}", (Guid id, ScheduleRequest request, ProjectAccess access, IRecurringJobManager recurring, CancellationToken ct) =>
            EvaluationQueries.UpdateScheduleAsync(access, recurring, id, request, ct))
            .WithSummary("Replace a schedule's target, sizes, cron and enabled flag; members");

        schedules.MapDelete("/{id:guid}", async (Guid id, ProjectAccess access, IRecurringJobManager recurring, CancellationToken ct) =>
        {
            await EvaluationQueries.DeleteScheduleAsync(access, recurring, id, ct); // its evaluations stay, without the schedule
            return Results.NoContent();
        }).WithSummary("Delete a schedule (its evaluations are kept); members");

        schedules.MapPost("/{id:guid}/run", async (Guid id, ProjectAccess access, EvaluationLauncher launcher, CancellationToken ct) =>
        {
            var evaluation = await EvaluationQueries.RunScheduleAsync(access, launcher, id, ct);
            return Results.Accepted($"/api/v1/evaluations/{evaluation.Id}", evaluation);
        }).WithSummary("Run a schedule's evaluation now (202; poll the evaluation); members");

        var evaluations = api.MapGroup("/evaluations").WithTags("Evaluations");

        evaluations.MapPost("/", async (EvaluationRequest request, ProjectAccess access, EvaluationLauncher launcher, CancellationToken ct) =>
        {
            var evaluation = await EvaluationQueries.StartAsync(access, launcher, request, ct);
            return Results.Accepted($"/api/v1/evaluations/{evaluation.Id}", evaluation);
        }).WithSummary("Evaluate a run's newest checkpoint or a model version once (202; poll the evaluation); members");

        evaluations.MapGet("/", ([FromQuery(Name = "project_id")] string? projectId, [FromQuery(Name = "schedule_id")] Guid? scheduleId,
            [FromQuery(Name = "run_id")] string? runId, int? page, [FromQuery(Name = "page_size")] int? pageSize, ProjectAccess access, CancellationToken ct) =>
            EvaluationQueries.ListAsync(access, new EvaluationFilter(projectId, scheduleId, runId, page, pageSize), ct))
            .WithSummary("Evaluations you can see, newest first (?project_id= ?schedule_id= ?run_id= ?page= ?page_size=); results only by id");

        evaluations.MapGet("/{id:guid}", (Guid id, ProjectAccess access, CancellationToken ct) => EvaluationQueries.GetAsync(access, id, ct))
            .WithSummary("An evaluation: status, attempts, error, headline numbers and the evaluator's whole JSON (results)");
    }
}
