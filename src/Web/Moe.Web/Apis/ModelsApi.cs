using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Models;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record ModelVersionView(string Model, int Version, string Project, string RunId, long Step, string ArtifactPrefix, string ManifestSha256,
    string? Description, DateTimeOffset CreatedAt, IReadOnlyList<string> Aliases);
public sealed record ModelView(string Name, string Project, IReadOnlyList<ModelVersionView> Versions, IReadOnlyDictionary<string, int> Aliases);
public sealed record ModelSummary(string Name, string Project, int Versions, int LatestVersion, IReadOnlyDictionary<string, int> Aliases, DateTime UpdatedAt);
public sealed record SetAliasRequest(int? Version);

/// <summary>
/// /api/v1/models: registered models, their versions (each one checkpoint) and aliases. A model belongs to the project of
/// the runs its versions come from: the first promotion decides, later ones must come from the same project.
/// </summary>
public static class ModelsApi
{
    public static void MapModelsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/models").WithTags("Models");

        group.MapGet("/", async (ProjectAccess access, CancellationToken ct) =>
        {
            var visible = await access.VisibleProjectsAsync(ct);
            var rows = await access.Db.ModelVersions.AsNoTracking()
                .Select(m => new { m.Name, m.Version, m.CreatedAt, Project = access.Db.Runs.Where(r => r.Id == m.Checkpoint!.RunId).Select(r => r.Experiment!.Project).First() })
                .Where(m => visible == null || visible.Contains(m.Project)).ToListAsync(ct);
            var aliases = await access.Db.ModelAliases.AsNoTracking().Select(a => new { a.ModelName, a.Alias, a.ModelVersion!.Version }).ToListAsync(ct);
            return rows.GroupBy(r => r.Name).OrderBy(g => g.Key).Select(g => new ModelSummary(g.Key, g.First().Project, g.Count(), g.Max(r => r.Version),
                aliases.Where(a => a.ModelName == g.Key).ToDictionary(a => a.Alias, a => a.Version), g.Max(r => r.CreatedAt))).ToList();
        }).WithSummary("Models whose versions come from projects you can see");

        group.MapGet("/{model}", async (string model, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var project = await RequireModelProjectAsync(access, model, ProjectRole.Viewer, null, ct);
            var snapshot = await grains.GetModel(model).GetAsync();
            return new ModelView(snapshot.Name, project, snapshot.Versions.Select(v => View(v, project)).ToList(), snapshot.Aliases);
        });

        group.MapGet("/{model}/versions/{versionOrAlias}", async (string model, string versionOrAlias, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var project = await RequireModelProjectAsync(access, model, ProjectRole.Viewer, null, ct);
            return View(await grains.GetModel(model).ResolveAsync(versionOrAlias), project);
        }).WithSummary("A version by number or alias (\"3\", \"production\")");

        group.MapPut("/{model}/aliases/{alias}", async (string model, string alias, SetAliasRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var project = await RequireModelProjectAsync(access, model, ProjectRole.Member, null, ct);
            var version = request.Version ?? throw new PlatformException("version", "is required");
            var snapshot = await grains.GetModel(model).SetAliasAsync(alias, version);
            return new ModelView(snapshot.Name, project, snapshot.Versions.Select(v => View(v, project)).ToList(), snapshot.Aliases);
        }).WithSummary("Point an alias at a version (moving it if it exists)");

        group.MapDelete("/{model}/aliases/{alias}", async (string model, string alias, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await RequireModelProjectAsync(access, model, ProjectRole.Member, null, ct);
            await grains.GetModel(model).RemoveAliasAsync(alias);
            return Results.NoContent();
        });

        group.MapDelete("/{model}/versions/{version:int}", async (string model, int version, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await RequireModelProjectAsync(access, model, ProjectRole.Member, null, ct);
            await grains.GetModel(model).DeleteVersionAsync(version); // 409 while an alias points at it
            return Results.NoContent();
        }).WithSummary("Delete a version (its checkpoint is unpinned and falls to retention)");
    }

    public static ModelVersionView View(ModelVersionSnapshot v, string project) =>
        new(v.ModelName, v.Version, project, v.RunId, v.Step, v.ArtifactPrefix, v.ManifestSha256, v.Description, v.CreatedAt, v.Aliases);

    /// <summary>
    /// The project a model belongs to, after checking the user's role there. A model with no version yet is unknown
    /// (404) unless <paramref name="promotingFrom"/> names the project a first version is being promoted from.
    /// </summary>
    public static async Task<string> RequireModelProjectAsync(ProjectAccess access, string model, ProjectRole minimum, string? promotingFrom, CancellationToken ct)
    {
        var projects = await access.Db.ModelVersions.AsNoTracking().Where(m => m.Name == model)
            .Select(m => access.Db.Runs.Where(r => r.Id == m.Checkpoint!.RunId).Select(r => r.Experiment!.Project).First())
            .Distinct().ToListAsync(ct);
        if (projects.Count == 0)
            return promotingFrom ?? throw PlatformException.NotFound("model", $"model '{model}' not found");
        var project = projects.Order(StringComparer.Ordinal).First();
        await access.RequireAsync(project, minimum, ct);
        if (promotingFrom is not null && promotingFrom != project)
            throw PlatformException.Conflict("model", $"model '{model}' belongs to project '{project}'; a run of '{promotingFrom}' cannot add versions to it");
        return project;
    }
}
