using System.Text.Json.Nodes;
using Hangfire;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Evaluations;
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
    const int DefaultWindows = 64, MaxPageSize = 200;

    public static void MapEvaluationsApi(this RouteGroupBuilder api)
    {
        var schedules = api.MapGroup("/evaluation-schedules").WithTags("Evaluations");

        schedules.MapPost("/", async (ScheduleRequest request, ProjectAccess access, IRecurringJobManager recurring, TimeProvider time, CancellationToken ct) =>
        {
            var project = PlatformIds.Require(request.ProjectId, "project_id");
            await access.RequireAsync(project, ProjectRole.Member, ct);
            var schedule = new EvaluationSchedule
            {
                ProjectId = project, Name = "", Cron = "", CreatedBy = access.UserId, CreatedAt = time.GetUtcNow().UtcDateTime,
            };
            await ApplyAsync(schedule, request, access.Db, ct);
            access.Db.EvaluationSchedules.Add(schedule);
            await access.Db.SaveChangesAsync(ct);
            EvaluationSchedules.Sync(recurring, schedule);
            return Results.Created($"/api/v1/evaluation-schedules/{schedule.Id}", View(schedule));
        }).WithSummary("Evaluate a run's newest checkpoint or a model version (number or alias) on a cron schedule (UTC); members");

        schedules.MapGet("/", async ([FromQuery(Name = "project_id")] string? projectId, ProjectAccess access, CancellationToken ct) =>
        {
            if (projectId is not null) await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
            var visible = await access.VisibleProjectsAsync(ct);
            var rows = await access.Db.EvaluationSchedules.AsNoTracking()
                .Where(s => visible == null || visible.Contains(s.ProjectId))
                .Where(s => projectId == null || s.ProjectId == projectId)
                .OrderBy(s => s.ProjectId).ThenBy(s => s.Name).ToListAsync(ct);
            return rows.Select(View).ToList();
        }).WithSummary("Schedules of the projects you can see (?project_id=)");

        schedules.MapGet("/{id:guid}", async (Guid id, ProjectAccess access, CancellationToken ct) =>
            View(await RequireScheduleAsync(access, id, ProjectRole.Viewer, ct)));

        schedules.MapPut("/{id:guid}", async (Guid id, ScheduleRequest request, ProjectAccess access, IRecurringJobManager recurring, CancellationToken ct) =>
        {
            var schedule = await RequireScheduleAsync(access, id, ProjectRole.Member, ct);
            if (request.ProjectId is { } project && project != schedule.ProjectId)
                throw new PlatformException("project_id", $"a schedule stays in its project ('{schedule.ProjectId}')");
            await ApplyAsync(schedule, request, access.Db, ct);
            await access.Db.SaveChangesAsync(ct);
            EvaluationSchedules.Sync(recurring, schedule);
            return View(schedule);
        }).WithSummary("Replace a schedule's target, sizes, cron and enabled flag; members");

        schedules.MapDelete("/{id:guid}", async (Guid id, ProjectAccess access, IRecurringJobManager recurring, CancellationToken ct) =>
        {
            var schedule = await RequireScheduleAsync(access, id, ProjectRole.Member, ct);
            recurring.RemoveIfExists(EvaluationSchedules.RecurringJobId(id));
            access.Db.EvaluationSchedules.Remove(schedule);
            await access.Db.SaveChangesAsync(ct); // its evaluations stay, without the schedule
            return Results.NoContent();
        }).WithSummary("Delete a schedule (its evaluations are kept); members");

        schedules.MapPost("/{id:guid}/run", async (Guid id, ProjectAccess access, EvaluationLauncher launcher, CancellationToken ct) =>
        {
            var schedule = await RequireScheduleAsync(access, id, ProjectRole.Member, ct);
            var evaluation = await launcher.StartScheduledAsync(access.Db, schedule, "manual", ct);
            return Results.Accepted($"/api/v1/evaluations/{evaluation.Id}", await GetAsync(access.Db, evaluation.Id, withResults: true, ct));
        }).WithSummary("Run a schedule's evaluation now (202; poll the evaluation); members");

        var evaluations = api.MapGroup("/evaluations").WithTags("Evaluations");

        evaluations.MapPost("/", async (EvaluationRequest request, ProjectAccess access, EvaluationLauncher launcher, CancellationToken ct) =>
        {
            string? project = request.ProjectId is null ? null : PlatformIds.Require(request.ProjectId, "project_id");
            if (project is not null) await access.RequireAsync(project, ProjectRole.Member, ct);
            var target = new EvaluationTarget(request.RunId, request.ModelName, request.ModelVersion, request.DatasetId, request.DatasetVersion,
                request.Windows ?? DefaultWindows, request.ArithmeticProblems ?? 0).Normalized();
            var resolved = await target.ResolveAsync(access.Db, project, pinDataset: true, ct);
            if (project is null) await access.RequireAsync(resolved.Project, ProjectRole.Member, ct);
            var name = Name(request.Name) ?? (target.ModelName is { } model ? $"{model}@{target.ModelVersion ?? "newest"}" : $"{target.RunId}@newest");
            var evaluation = await launcher.StartAsync(access.Db, resolved, name, "manual", null, ct);
            return Results.Accepted($"/api/v1/evaluations/{evaluation.Id}", await GetAsync(access.Db, evaluation.Id, withResults: true, ct));
        }).WithSummary("Evaluate a run's newest checkpoint or a model version once (202; poll the evaluation); members");

        evaluations.MapGet("/", async ([FromQuery(Name = "project_id")] string? projectId, [FromQuery(Name = "schedule_id")] Guid? scheduleId,
            [FromQuery(Name = "run_id")] string? runId, int? page, [FromQuery(Name = "page_size")] int? pageSize, ProjectAccess access, CancellationToken ct) =>
        {
            var (number, size) = Paging(page, pageSize);
            if (projectId is not null) await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
            var visible = await access.VisibleProjectsAsync(ct);
            var query = access.Db.Evaluations.AsNoTracking()
                .Where(e => visible == null || visible.Contains(e.ProjectId))
                .Where(e => projectId == null || e.ProjectId == projectId)
                .Where(e => scheduleId == null || e.ScheduleId == scheduleId)
                .Where(e => runId == null || e.RunId == runId);
            int total = await query.CountAsync(ct);
            var items = await View(query.OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id).Skip((number - 1) * size).Take(size), access.Db, false)
                .ToListAsync(ct);
            return new PageOf<EvaluationView>(items, total, number, size);
        }).WithSummary("Evaluations you can see, newest first (?project_id= ?schedule_id= ?run_id= ?page= ?page_size=); results only by id");

        evaluations.MapGet("/{id:guid}", async (Guid id, ProjectAccess access, CancellationToken ct) =>
        {
            var project = await access.Db.Evaluations.AsNoTracking().Where(e => e.Id == id).Select(e => e.ProjectId).FirstOrDefaultAsync(ct)
                ?? throw PlatformException.NotFound("id", $"evaluation '{id}' not found");
            await access.RequireAsync(project, ProjectRole.Viewer, ct);
            return await GetAsync(access.Db, id, withResults: true, ct);
        }).WithSummary("An evaluation: status, attempts, error, headline numbers and the evaluator's whole JSON (results)");
    }

    /// <summary>Checks the request (400 naming the field) and copies it onto the schedule.</summary>
    static async Task ApplyAsync(EvaluationSchedule schedule, ScheduleRequest request, PlatformDb db, CancellationToken ct)
    {
        var name = Name(request.Name) ?? throw new PlatformException("name", "is required");
        if (EvaluationSchedules.CronProblem(request.Cron) is { } problem) throw new PlatformException("cron", problem);
        var target = new EvaluationTarget(request.RunId, request.ModelName, request.ModelVersion, request.DatasetId, request.DatasetVersion,
            request.Windows ?? DefaultWindows, request.ArithmeticProblems ?? 0).Normalized();
        // The dataset version stays as given: none means the newest ready one each time the schedule runs.
        await target.ResolveAsync(db, schedule.ProjectId, pinDataset: false, ct);
        schedule.Name = name;
        schedule.Cron = request.Cron!.Trim();
        (schedule.RunId, schedule.ModelName, schedule.ModelVersion) = (target.RunId, target.ModelName, target.ModelVersion);
        (schedule.DatasetId, schedule.DatasetVersion) = (target.DatasetId, target.DatasetVersion);
        (schedule.Windows, schedule.ArithmeticProblems) = (target.Windows, target.ArithmeticProblems);
        schedule.Enabled = request.Enabled ?? true;
    }

    static async Task<EvaluationSchedule> RequireScheduleAsync(ProjectAccess access, Guid id, ProjectRole minimum, CancellationToken ct)
    {
        var schedule = await access.Db.EvaluationSchedules.FirstOrDefaultAsync(s => s.Id == id, ct)
            ?? throw PlatformException.NotFound("id", $"evaluation schedule '{id}' not found");
        await access.RequireAsync(schedule.ProjectId, minimum, ct);
        return schedule;
    }

    static string? Name(string? name) => name?.Trim() is { Length: > 0 } trimmed
        ? trimmed.Length <= 200 ? trimmed : throw new PlatformException("name", "must be at most 200 characters")
        : null;

    /// <summary>Page number and size, checked as GET /runs checks them (at most 200 a page).</summary>
    internal static (int Number, int Size) Paging(int? page, int? pageSize)
    {
        int size = pageSize ?? 50, number = page ?? 1;
        if (size is < 1 or > MaxPageSize) throw new PlatformException("page_size", $"must be between 1 and {MaxPageSize}");
        if (number < 1) throw new PlatformException("page", "must be 1 or more");
        if ((long)(number - 1) * size > int.MaxValue) throw new PlatformException("page", $"must be at most {int.MaxValue / size + 1} with page_size {size}");
        return (number, size);
    }

    static ScheduleView View(EvaluationSchedule s) => new(s.Id, s.ProjectId, s.Name, s.RunId, s.ModelName, s.ModelVersion, s.DatasetId,
        s.DatasetVersion, s.Windows, s.ArithmeticProblems, s.Cron, s.Enabled, s.CreatedAt, s.LastRunAt);

    static async Task<EvaluationView> GetAsync(PlatformDb db, Guid id, bool withResults, CancellationToken ct) =>
        await View(db.Evaluations.AsNoTracking().Where(e => e.Id == id), db, withResults).SingleAsync(ct);

    static IQueryable<EvaluationView> View(IQueryable<Evaluation> evaluations, PlatformDb db, bool withResults) =>
        evaluations.Select(e => new EvaluationView(e.Id, e.ScheduleId, e.ProjectId, e.RunId,
            db.ModelVersions.Where(m => m.Id == e.ModelVersionId).Select(m => m.Name).FirstOrDefault(),
            db.ModelVersions.Where(m => m.Id == e.ModelVersionId).Select(m => (int?)m.Version).FirstOrDefault(),
            e.Name, e.Trigger, e.Status, e.Attempts, e.Error, e.CheckpointStep, e.ValLoss, e.ValPpl, e.ExactMatch, e.MaxOverMean, e.DropFraction,
            withResults ? ParseResults(e.ResultsJson) : null, e.CreatedAt, e.StartedAt, e.FinishedAt));

    // A method, not JsonNode.Parse inline: EF Core refuses constant option arguments in a client projection (see RunsApi).
    internal static JsonNode? ParseResults(string? json) => string.IsNullOrEmpty(json) ? null : JsonNode.Parse(json);
}
