using Microsoft.EntityFrameworkCore;
using Moe.Platform.Models;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>A model as its portal page shows it: the API's view, each version's checkpoint validation loss, whether the user may change it.</summary>
public sealed record ModelDetailView(ModelView Model, IReadOnlyDictionary<int, double?> ValLosses, bool CanEdit);

/// <summary>
/// The reads and commands behind the models API and the portal's model pages. A model belongs to the project of the
/// runs its versions come from: viewers read it, members move aliases and delete versions; other users never see it.
/// </summary>
public static class ModelQueries
{
    public static async Task<List<ModelSummary>> ListAsync(ProjectAccess access, CancellationToken ct)
    {
        var visible = await access.VisibleProjectsAsync(ct);
        var rows = await access.Db.ModelVersions.AsNoTracking()
            .Select(m => new { m.Name, m.Version, m.CreatedAt, Project = access.Db.Runs.Where(r => r.Id == m.Checkpoint!.RunId).Select(r => r.Experiment!.Project).First() })
            .Where(m => visible == null || visible.Contains(m.Project)).ToListAsync(ct);
        var aliases = await access.Db.ModelAliases.AsNoTracking().Select(a => new { a.ModelName, a.Alias, a.ModelVersion!.Version }).ToListAsync(ct);
        return rows.GroupBy(r => r.Name).OrderBy(g => g.Key).Select(g => new ModelSummary(g.Key, g.First().Project, g.Count(),
            g.Max(r => r.Version), aliases.Where(a => a.ModelName == g.Key).ToDictionary(a => a.Alias, a => a.Version), g.Max(r => r.CreatedAt))).ToList();
    }

    public static async Task<ModelView> GetAsync(ProjectAccess access, IGrainFactory grains, string model, CancellationToken ct)
    {
        var project = await RequireModelProjectAsync(access, model, ProjectRole.Viewer, null, ct);
        return View(await grains.GetModel(model).GetAsync(), project);
    }

    /// <summary>The model with its versions' validation losses (from their checkpoints) and whether the user is a member of its project.</summary>
    public static async Task<ModelDetailView> GetDetailAsync(ProjectAccess access, IGrainFactory grains, string model, CancellationToken ct)
    {
        var view = await GetAsync(access, grains, model, ct);
        var losses = await access.Db.ModelVersions.AsNoTracking().Where(m => m.Name == model)
            .Select(m => new { m.Version, m.Checkpoint!.ValLoss }).ToDictionaryAsync(m => m.Version, m => m.ValLoss, ct);
        var role = await access.RoleAsync(view.Project, ct);
        return new ModelDetailView(view, losses, role >= ProjectRole.Member);
    }

    /// <summary>A version by number or alias ("3", "production").</summary>
    public static async Task<ModelVersionView> ResolveAsync(ProjectAccess access, IGrainFactory grains, string model, string versionOrAlias, CancellationToken ct)
    {
        var project = await RequireModelProjectAsync(access, model, ProjectRole.Viewer, null, ct);
        return VersionView(await grains.GetModel(model).ResolveAsync(versionOrAlias), project);
    }

    /// <summary>Points an alias at a version, moving it if it exists (members).</summary>
    public static async Task<ModelView> SetAliasAsync(ProjectAccess access, IGrainFactory grains, string model, string alias, int? version, CancellationToken ct)
    {
        var project = await RequireModelProjectAsync(access, model, ProjectRole.Member, null, ct);
        var target = version ?? throw new PlatformException("version", "is required");
        return View(await grains.GetModel(model).SetAliasAsync(alias, target), project);
    }

    public static async Task RemoveAliasAsync(ProjectAccess access, IGrainFactory grains, string model, string alias, CancellationToken ct)
    {
        await RequireModelProjectAsync(access, model, ProjectRole.Member, null, ct);
        await grains.GetModel(model).RemoveAliasAsync(alias);
    }

    /// <summary>Deletes a version (409 while an alias points at it); its checkpoint is unpinned and falls to retention.</summary>
    public static async Task DeleteVersionAsync(ProjectAccess access, IGrainFactory grains, string model, int version, CancellationToken ct)
    {
        await RequireModelProjectAsync(access, model, ProjectRole.Member, null, ct);
        await grains.GetModel(model).DeleteVersionAsync(version);
    }

    public static ModelView View(ModelSnapshot snapshot, string project) =>
        new(snapshot.Name, project, snapshot.Versions.Select(v => VersionView(v, project)).ToList(), snapshot.Aliases);

    public static ModelVersionView VersionView(ModelVersionSnapshot v, string project) =>
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
