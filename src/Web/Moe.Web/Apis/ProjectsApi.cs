using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record ProjectView(string Id, string Name, string? Description, DateTime CreatedAt, ProjectRole? Role);
public sealed record CreateProjectRequest(string? Id, string? Name, string? Description);
public sealed record MemberView(string UserName, string? DisplayName, ProjectRole Role, DateTime AddedAt);
public sealed record SetMemberRequest(ProjectRole? Role);

/// <summary>/api/v1/projects: projects (platform admins create them) and their members (project admins manage them).</summary>
public static class ProjectsApi
{
    public static void MapProjectsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/projects").WithTags("Projects");

        group.MapGet("/", async (ProjectAccess access, PlatformDb db, CancellationToken ct) =>
        {
            var visible = await access.VisibleProjectsAsync(ct);
            var projects = await db.Projects.AsNoTracking().Where(p => visible == null || visible.Contains(p.Id)).OrderBy(p => p.Id).ToListAsync(ct);
            var roles = await access.RolesAsync(ct);
            return projects.Select(p => View(p, access.IsPlatformAdmin ? ProjectRole.Admin : roles.GetValueOrDefault(p.Id))).ToList();
        }).WithSummary("The projects you have a role in (all of them for a platform admin)");

        group.MapPost("/", async (CreateProjectRequest request, ProjectAccess access, PlatformDb db, CancellationToken ct) =>
        {
            access.RequirePlatformAdmin();
            var id = PlatformIds.Require(request.Id, "id");
            var name = TextRules.Name(request.Name, "name");
            var description = TextRules.Description(request.Description, "description");
            if (await db.Projects.AnyAsync(p => p.Id == id, ct)) throw PlatformException.Conflict("id", $"project '{id}' already exists");
            var project = new Project { Id = id, Name = name, Description = description };
            db.Projects.Add(project);
            await db.SaveChangesAsync(ct);
            return Results.Created($"/api/v1/projects/{id}", View(project, ProjectRole.Admin));
        }).WithSummary("Create a project (platform admins)");

        group.MapGet("/{projectId}", async (string projectId, ProjectAccess access, PlatformDb db, CancellationToken ct) =>
        {
            await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
            var project = await db.Projects.AsNoTracking().SingleAsync(p => p.Id == projectId, ct);
            return View(project, await access.RoleAsync(projectId, ct));
        });

        group.MapGet("/{projectId}/members", async (string projectId, ProjectAccess access, PlatformDb db, CancellationToken ct) =>
        {
            await access.RequireAsync(projectId, ProjectRole.Viewer, ct);
            return await db.ProjectMembers.AsNoTracking().Where(m => m.ProjectId == projectId).OrderBy(m => m.User!.UserName)
                .Select(m => new MemberView(m.User!.UserName, m.User.DisplayName, m.Role, m.AddedAt)).ToListAsync(ct);
        });

        group.MapPut("/{projectId}/members/{userName}", async (string projectId, string userName, SetMemberRequest request,
            ProjectAccess access, PlatformDb db, CancellationToken ct) =>
        {
            await access.RequireAsync(projectId, ProjectRole.Admin, ct);
            var role = request.Role ?? throw new PlatformException("role", "is required: viewer, member or admin");
            var user = await FindUserAsync(db, userName, ct);
            var member = await db.ProjectMembers.FindAsync([projectId, user.Id], ct);
            if (member is null) db.ProjectMembers.Add(member = new ProjectMember { ProjectId = projectId, UserId = user.Id, Role = role });
            else member.Role = role;
            await db.SaveChangesAsync(ct);
            return new MemberView(user.UserName, user.DisplayName, member.Role, member.AddedAt);
        }).WithSummary("Give a user a role in the project, or change it (project admins)");

        group.MapDelete("/{projectId}/members/{userName}", async (string projectId, string userName, ProjectAccess access, PlatformDb db, CancellationToken ct) =>
        {
            await access.RequireAsync(projectId, ProjectRole.Admin, ct);
            var user = await FindUserAsync(db, userName, ct);
            var member = await db.ProjectMembers.FindAsync([projectId, user.Id], ct)
                ?? throw PlatformException.NotFound("user_name", $"'{user.UserName}' is not a member of '{projectId}'");
            db.ProjectMembers.Remove(member);
            await db.SaveChangesAsync(ct);
            return Results.NoContent();
        });
    }

    static ProjectView View(Project p, ProjectRole? role) => new(p.Id, p.Name, p.Description, p.CreatedAt, role);

    internal static async Task<User> FindUserAsync(PlatformDb db, string userName, CancellationToken ct)
    {
        var name = userName.Trim().ToLowerInvariant();
        return await db.Users.FirstOrDefaultAsync(u => u.UserName == name, ct)
            ?? throw PlatformException.NotFound("user_name", $"user '{userName}' not found");
    }
}
