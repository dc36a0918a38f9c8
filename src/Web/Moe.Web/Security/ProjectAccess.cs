using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Security;

/// <summary>
/// What one signed-in user may do: their role per project (platform admins are admins everywhere). Every API endpoint
/// and portal page asks this before reading or changing a project's experiments, runs, checkpoints or evaluations;
/// an id that does not exist is 404 before any role question, so the answer never depends on what a user may not see.
/// </summary>
public sealed class ProjectAccess(PlatformDb db, ClaimsPrincipal user)
{
    public Guid UserId { get; } = user.UserId();
    public bool IsPlatformAdmin { get; } = user.IsPlatformAdmin();
    public string UserName => user.Identity?.Name ?? "";

    /// <summary>The request's database context (the API reads through it after the access checks).</summary>
    public PlatformDb Db => db;

    private Dictionary<string, ProjectRole>? _roles;

    /// <summary>The user's role in each project they have one in.</summary>
    public async Task<IReadOnlyDictionary<string, ProjectRole>> RolesAsync(CancellationToken cancellationToken = default) =>
        _roles ??= (await db.ProjectMembers.AsNoTracking().Where(m => m.UserId == UserId).ToListAsync(cancellationToken))
            .Where(m => Enum.IsDefined(m.Role)) // a role no check knows (a stored 99) grants nothing
            .ToDictionary(m => m.ProjectId, m => m.Role);

    public async Task<ProjectRole?> RoleAsync(string projectId, CancellationToken cancellationToken = default)
    {
        if (IsPlatformAdmin) return ProjectRole.Admin;
        return (await RolesAsync(cancellationToken)).TryGetValue(projectId, out var role) ? role : null;
    }

    /// <summary>The projects whose work the user may see; null means all (a platform admin).</summary>
    public async Task<IReadOnlyCollection<string>?> VisibleProjectsAsync(CancellationToken cancellationToken = default) =>
        IsPlatformAdmin ? null : (await RolesAsync(cancellationToken)).Keys.ToList();

    /// <summary>Throws unless the project exists (404) and the user has at least <paramref name="minimum"/> in it (403).</summary>
    public async Task RequireAsync(string projectId, ProjectRole minimum, CancellationToken cancellationToken = default)
    {
        if (!await db.Projects.AnyAsync(p => p.Id == projectId, cancellationToken))
            throw PlatformException.NotFound("project", $"project '{projectId}' not found");
        var role = await RoleAsync(projectId, cancellationToken);
        if (role is null) throw new AccessDeniedException($"you have no role in project '{projectId}'");
        if (role < minimum)
            throw new AccessDeniedException($"this needs the {minimum.ToString().ToLowerInvariant()} role in project '{projectId}'; you are a {role.Value.ToString().ToLowerInvariant()}");
    }

    /// <summary>The project of an experiment (404 when it does not exist), after checking the user's role there.</summary>
    public async Task<string> RequireExperimentAsync(string experimentId, ProjectRole minimum, CancellationToken cancellationToken = default)
    {
        var project = await db.Experiments.AsNoTracking().Where(e => e.Id == experimentId).Select(e => e.Project).FirstOrDefaultAsync(cancellationToken)
            ?? throw PlatformException.NotFound("experiment_id", $"experiment '{experimentId}' not found");
        await RequireAsync(project, minimum, cancellationToken);
        return project;
    }

    /// <summary>The project of a run (404 when it does not exist), after checking the user's role there.</summary>
    public async Task<string> RequireRunAsync(string runId, ProjectRole minimum, CancellationToken cancellationToken = default)
    {
        var project = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => r.Experiment!.Project).FirstOrDefaultAsync(cancellationToken)
            ?? throw PlatformException.NotFound("run_id", $"run '{runId}' not found");
        await RequireAsync(project, minimum, cancellationToken);
        return project;
    }

    /// <summary>Creating shared things (datasets) needs the member role somewhere.</summary>
    public async Task RequireMemberAnywhereAsync(CancellationToken cancellationToken = default)
    {
        if (IsPlatformAdmin) return;
        if (!(await RolesAsync(cancellationToken)).Values.Any(r => r >= ProjectRole.Member))
            throw new AccessDeniedException("this needs the member role in at least one project");
    }

    public void RequirePlatformAdmin()
    {
        if (!IsPlatformAdmin) throw new AccessDeniedException("only platform admins may do this");
    }
}
