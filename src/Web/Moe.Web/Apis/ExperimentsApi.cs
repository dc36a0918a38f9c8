using Microsoft.AspNetCore.Mvc;
using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record ExperimentView(
    string Id, string Project, string Name, string? Description, DateTime CreatedAt, DateTime? DeletedAt, int Runs, int ActiveRuns,
    double? BestValLoss);
public sealed record CreateExperimentRequest(string? Project, string? Name, string? Description, string? Id);
public sealed record UpdateExperimentRequest(string? Name, string? Description);

/// <summary>
/// /api/v1/experiments: named groups of runs in a project (reads from the projected table, changes through the grain), through
/// <see cref="ExperimentQueries"/> like the portal's experiment pages.
/// </summary>
public static class ExperimentsApi
{
    public static void MapExperimentsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/experiments").WithTags("Experiments");

        group.MapGet("/", (string? project, [FromQuery(Name = "include_deleted")] bool? includeDeleted, ProjectAccess access, CancellationToken ct) =>
            ExperimentQueries.ListAsync(access, project, includeDeleted == true, ct))
            .WithSummary("Experiments you can see, newest first (?project=, ?include_deleted=true)");

        group.MapPost("/", async (CreateExperimentRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var created = await ExperimentQueries.CreateAsync(access, grains, request, ct);
            return Results.Created($"/api/v1/experiments/{created.Id}", created);
        }).WithSummary("Create an experiment in a project (members)");

        group.MapGet("/{experimentId}", (string experimentId, ProjectAccess access, CancellationToken ct) =>
            ExperimentQueries.GetAsync(access, experimentId, ct));

        group.MapPatch("/{experimentId}", (string experimentId, UpdateExperimentRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
            ExperimentQueries.UpdateAsync(access, grains, experimentId, request, ct))
            .WithSummary("Rename an experiment or change its description (members)");

        group.MapDelete("/{experimentId}", async (string experimentId, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await ExperimentQueries.DeleteAsync(access, grains, experimentId, ct);
            return Results.NoContent();
        }).WithSummary("Delete an experiment (kept in history; refused while it has active runs)");
    }
}
