using System.Text.Json.Nodes;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Evaluations;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>Which evaluations a list shows (all given filters apply), and which page of them.</summary>
public sealed record EvaluationFilter(string? ProjectId = null, Guid? ScheduleId = null, string? RunId = null, int? Page = null, int? PageSize = null);

/// <summary>
/// The reads and commands behind the evaluations API and the portal's evaluation pages: schedules (viewers read,
/// members create, change, delete and run them) and evaluations, with the same checks, views and refusals.
/// </summary>
public static class EvaluationQueries
{
    public const int DefaultWindows = 64;

    /// <summary>Creates a schedule (members of its project) and registers its recurring job when enabled.</summary>
    public static async Task<ScheduleView> CreateScheduleAsync(ProjectAccess access, IRecurringJobManager recurring, TimeProvider time,
        ScheduleRequest request, CancellationToken ct)
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
        return View(schedule);
    }

    /// <summary>Schedules of the projects the user can see, by project and name; <paramref name="projectId"/> narrows to one (viewers).</summary>
    public static async Task<List<ScheduleView>> ListSchedulesAsync(ProjectAccess access, string? projectId, CancellationToken ct)
    {
        if (projectId is not null) await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
        var visible = await access.VisibleProjectsAsync(ct);
        var rows = await access.Db.EvaluationSchedules.AsNoTracking()
            .Where(s => visible == null || visible.Contains(s.ProjectId))
            .Where(s => projectId == null || s.ProjectId == projectId)
            .OrderBy(s => s.ProjectId).ThenBy(s => s.Name).ToListAsync(ct);
        return rows.Select(View).ToList();
    }

    public static async Task<ScheduleView> GetScheduleAsync(ProjectAccess access, Guid id, CancellationToken ct) =>
        View(await RequireScheduleAsync(access, id, ProjectRole.Viewer, ct));

    /// <summary>Replaces a schedule's target, sizes, cron and enabled flag (members); it stays in its project.</summary>
    public static async Task<ScheduleView> UpdateScheduleAsync(ProjectAccess access, IRecurringJobManager recurring, Guid id, ScheduleRequest request,
        CancellationToken ct)
    {
        var schedule = await RequireScheduleAsync(access, id, ProjectRole.Member, ct);
        if (request.ProjectId is { } project && project != schedule.ProjectId)
            throw new PlatformException("project_id", $"a schedule stays in its project ('{schedule.ProjectId}')");
        await ApplyAsync(schedule, request, access.Db, ct);
        await access.Db.SaveChangesAsync(ct);
        EvaluationSchedules.Sync(recurring, schedule);
        return View(schedule);
    }

    /// <summary>Turns a schedule's recurring job on or off (members), leaving the rest as it is.</summary>
    public static async Task<ScheduleView> SetEnabledAsync(ProjectAccess access, IRecurringJobManager recurring, Guid id, bool enabled, CancellationToken ct)
    {
        var schedule = await RequireScheduleAsync(access, id, ProjectRole.Member, ct);
        schedule.Enabled = enabled;
        await access.Db.SaveChangesAsync(ct);
        EvaluationSchedules.Sync(recurring, schedule);
        return View(schedule);
    }

    /// <summary>Deletes a schedule and its recurring job (members); its evaluations stay, without the schedule.</summary>
    public static async Task DeleteScheduleAsync(ProjectAccess access, IRecurringJobManager recurring, Guid id, CancellationToken ct)
    {
        var schedule = await RequireScheduleAsync(access, id, ProjectRole.Member, ct);
        recurring.RemoveIfExists(EvaluationSchedules.RecurringJobId(id));
        access.Db.EvaluationSchedules.Remove(schedule);
        await access.Db.SaveChangesAsync(ct);
    }

    /// <summary>Runs a schedule's evaluation now (members, trigger "manual"); returns the queued evaluation.</summary>
    public static async Task<EvaluationView> RunScheduleAsync(ProjectAccess access, EvaluationLauncher launcher, Guid id, CancellationToken ct)
    {
        var schedule = await RequireScheduleAsync(access, id, ProjectRole.Member, ct);
        var evaluation = await launcher.StartScheduledAsync(access.Db, schedule, "manual", ct);
        return await GetAsync(access.Db, evaluation.Id, withResults: true, ct);
    }

    /// <summary>Evaluates a run's newest checkpoint or a model version once (members), pinning the alias and dataset version.</summary>
    public static async Task<EvaluationView> StartAsync(ProjectAccess access, EvaluationLauncher launcher, EvaluationRequest request, CancellationToken ct)
    {
        string? project = request.ProjectId is null ? null : PlatformIds.Require(request.ProjectId, "project_id");
        if (project is not null) await access.RequireAsync(project, ProjectRole.Member, ct);
        var target = new EvaluationTarget(request.RunId, request.ModelName, request.ModelVersion, request.DatasetId, request.DatasetVersion,
            request.Windows ?? DefaultWindows, request.ArithmeticProblems ?? 0).Normalized();
        var resolved = await target.ResolveAsync(access.Db, project, pinDataset: true, ct);
        if (project is null) await access.RequireAsync(resolved.Project, ProjectRole.Member, ct);
        var name = Name(request.Name) ?? (target.ModelName is { } model ? $"{model}@{target.ModelVersion ?? "newest"}" : $"{target.RunId}@newest");
        var evaluation = await launcher.StartAsync(access.Db, resolved, name, "manual", null, ct);
        return await GetAsync(access.Db, evaluation.Id, withResults: true, ct);
    }

    /// <summary>Evaluations the user can see, newest first, without their results JSON.</summary>
    public static async Task<PageOf<EvaluationView>> ListAsync(ProjectAccess access, EvaluationFilter filter, CancellationToken ct)
    {
        var page = Paging.Check(filter.Page, filter.PageSize);
        var (projectId, scheduleId, runId) = (filter.ProjectId, filter.ScheduleId, filter.RunId);
        if (projectId is not null) await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
        var visible = await access.VisibleProjectsAsync(ct);
        var query = access.Db.Evaluations.AsNoTracking()
            .Where(e => visible == null || visible.Contains(e.ProjectId))
            .Where(e => projectId == null || e.ProjectId == projectId)
            .Where(e => scheduleId == null || e.ScheduleId == scheduleId)
            .Where(e => runId == null || e.RunId == runId);
        return await Paging.PageAsync(query, q => q.OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id), q => View(q, access.Db, false), page, ct);
    }

    /// <summary>An evaluation with its results JSON (viewers of its project; 404 naming "id" when there is none).</summary>
    public static async Task<EvaluationView> GetAsync(ProjectAccess access, Guid id, CancellationToken ct)
    {
        var project = await access.Db.Evaluations.AsNoTracking().Where(e => e.Id == id).Select(e => e.ProjectId).FirstOrDefaultAsync(ct)
            ?? throw PlatformException.NotFound("id", $"evaluation '{id}' not found");
        await access.RequireAsync(project, ProjectRole.Viewer, ct);
        return await GetAsync(access.Db, id, withResults: true, ct);
    }

    /// <summary>The newest evaluation of each of the given schedules the user can see (without results), by schedule id.</summary>
    public static async Task<Dictionary<Guid, EvaluationView>> LatestByScheduleAsync(ProjectAccess access, IEnumerable<Guid> scheduleIds, CancellationToken ct)
    {
        var visible = await access.VisibleProjectsAsync(ct);
        var latest = new Dictionary<Guid, EvaluationView>();
        foreach (var id in scheduleIds.Distinct())
        {
            var view = await View(access.Db.Evaluations.AsNoTracking()
                .Where(e => e.ScheduleId == id && (visible == null || visible.Contains(e.ProjectId)))
                .OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id).Take(1), access.Db, false).FirstOrDefaultAsync(ct);
            if (view is not null) latest[id] = view;
        }
        return latest;
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

    static string? Name(string? name) => TextRules.OptionalName(name, "name");

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
    public static JsonNode? ParseResults(string? json) => string.IsNullOrEmpty(json) ? null : JsonNode.Parse(json);
}
