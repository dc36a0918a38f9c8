using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Experiments;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record ExperimentView(
    string Id, string Project, string Name, string? Description, DateTime CreatedAt, DateTime? DeletedAt, int Runs, int ActiveRuns,
    double? BestValLoss);
public sealed record CreateExperimentRequest(string? Project, string? Name, string? Description, string? Id);
public sealed record UpdateExperimentRequest(string? Name, string? Description);

/// <summary>/api/v1/experiments: named groups of runs in a project (reads from the projected table, changes through the grain).</summary>
public static class ExperimentsApi
{
    public static void MapExperimentsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/experiments").WithTags("Experiments");

        group.MapGet("/", async (string? project, [FromQuery(Name = "include_deleted")] bool? includeDeleted, ProjectAccess access, PlatformDb db,
            CancellationToken ct) =>
        {
            var visible = await access.VisibleProjectsAsync(ct);
            if (project is not null) await access.RequireAsync(project, ProjectRole.Viewer, ct);
            var query = db.Experiments.AsNoTracking()
                .Where(e => visible == null || visible.Contains(e.Project))
                .Where(e => project == null || e.Project == project)
                .Where(e => includeDeleted == true || e.DeletedAt == null);
            return await ToViews(query.OrderByDescending(e => e.CreatedAt)).ToListAsync(ct);
        }).WithSummary("Experiments you can see, newest first (?project=, ?include_deleted=true)");

        group.MapPost("/", async (CreateExperimentRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var project = PlatformIds.Require(request.Project ?? Project.DefaultId, "project");
            await access.RequireAsync(project, ProjectRole.Member, ct);
            var spec = new ExperimentSpec(ProjectsApi.Required(request.Name, "name", ExperimentSpec.MaxNameLength), request.Description?.Trim(), project);
            spec.Validate();
            var id = request.Id is null ? Slug.From(spec.Name, "exp") : PlatformIds.Require(request.Id, "id");
            var created = await CreateAsync(grains, id, spec, retryWithSuffix: request.Id is null);
            return Results.Created($"/api/v1/experiments/{created.ExperimentId}", await GetAsync(access.Db, created.ExperimentId, ct));
        }).WithSummary("Create an experiment in a project (members)");

        group.MapGet("/{experimentId}", async (string experimentId, ProjectAccess access, CancellationToken ct) =>
        {
            await access.RequireExperimentAsync(experimentId, ProjectRole.Viewer, ct);
            return await GetAsync(access.Db, experimentId, ct);
        });

        group.MapPatch("/{experimentId}", async (string experimentId, UpdateExperimentRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await access.RequireExperimentAsync(experimentId, ProjectRole.Member, ct);
            if (request.Name is { } name) ProjectsApi.Required(name, "name", ExperimentSpec.MaxNameLength);
            await grains.GetExperiment(experimentId).UpdateAsync(request.Name?.Trim(), request.Description);
            return await GetAsync(access.Db, experimentId, ct);
        }).WithSummary("Rename an experiment or change its description (members)");

        group.MapDelete("/{experimentId}", async (string experimentId, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await access.RequireExperimentAsync(experimentId, ProjectRole.Member, ct);
            await grains.GetExperiment(experimentId).DeleteAsync(); // 409 while runs are active
            return Results.NoContent();
        }).WithSummary("Delete an experiment (kept in history; refused while it has active runs)");
    }

    static async Task<ExperimentSnapshot> CreateAsync(IGrainFactory grains, string id, ExperimentSpec spec, bool retryWithSuffix)
    {
        try
        {
            return await grains.GetExperiment(id).CreateAsync(spec);
        }
        catch (PlatformException e) when (retryWithSuffix && e.Kind == PlatformErrorKind.Conflict && e.Field == "experiment_id")
        {
            return await grains.GetExperiment(Slug.WithSuffix(id)).CreateAsync(spec);
        }
    }

    static async Task<ExperimentView> GetAsync(PlatformDb db, string id, CancellationToken ct) =>
        await ToViews(db.Experiments.AsNoTracking().Where(e => e.Id == id)).SingleAsync(ct);

    static readonly string[] Ended = [nameof(RunStatus.Succeeded), nameof(RunStatus.Failed), nameof(RunStatus.Cancelled)];

    static IQueryable<ExperimentView> ToViews(IQueryable<Experiment> experiments) =>
        experiments.Select(e => new ExperimentView(e.Id, e.Project, e.Name, e.Description, e.CreatedAt, e.DeletedAt,
            e.Runs.Count, e.Runs.Count(r => !Ended.Contains(r.Status)), e.Runs.Min(r => r.BestValLoss)));
}
