using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record MeView(Guid Id, string UserName, string? DisplayName, bool IsAdmin, IReadOnlyDictionary<string, ProjectRole> Projects);
public sealed record ApiKeyView(Guid Id, string Name, string Prefix, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? ExpiresAt, DateTime? RevokedAt);
public sealed record CreateApiKeyRequest(string? Name, int? ExpiresInDays);
public sealed record CreatedApiKey(Guid Id, string Name, string Prefix, string Key, DateTime CreatedAt, DateTime? ExpiresAt);
public sealed record UserView(Guid Id, string UserName, string? DisplayName, bool IsAdmin, DateTime CreatedAt, DateTime? LastSignInAt, bool Disabled);
public sealed record CreateUserRequest(string? UserName, string? Password, string? DisplayName, bool IsAdmin = false);

/// <summary>/api/v1/me (who you are, your API keys) and /api/v1/users (platform admins manage accounts).</summary>
public static class AccountApi
{
    public const int MaxKeyLifetimeDays = 3650;

    public static void MapAccountApi(this RouteGroupBuilder api)
    {
        var me = api.MapGroup("/me").WithTags("Account");
        me.MapGet("/", async (ProjectAccess access, PlatformDb db, CancellationToken ct) =>
        {
            var user = await db.Users.AsNoTracking().SingleAsync(u => u.Id == access.UserId, ct);
            return new MeView(user.Id, user.UserName, user.DisplayName, user.IsAdmin, await access.RolesAsync(ct));
        });

        me.MapGet("/api-keys", async (ProjectAccess access, PlatformDb db, CancellationToken ct) =>
            await db.ApiKeys.AsNoTracking().Where(k => k.UserId == access.UserId).OrderByDescending(k => k.CreatedAt)
                .Select(k => new ApiKeyView(k.Id, k.Name, k.Prefix, k.CreatedAt, k.LastUsedAt, k.ExpiresAt, k.RevokedAt)).ToListAsync(ct));

        me.MapPost("/api-keys", async (CreateApiKeyRequest request, ProjectAccess access, PlatformDb db, TimeProvider time, CancellationToken ct) =>
        {
            var name = ProjectsApi.Required(request.Name, "name", 200);
            if (request.ExpiresInDays is < 1 or > MaxKeyLifetimeDays)
                throw new PlatformException("expires_in_days", $"must be between 1 and {MaxKeyLifetimeDays}, or absent for a key that does not expire");
            var now = time.GetUtcNow().UtcDateTime;
            var (secret, row) = ApiKeys.Create(access.UserId, name, request.ExpiresInDays is { } days ? now.AddDays(days) : null);
            row.CreatedAt = now;
            db.ApiKeys.Add(row);
            await db.SaveChangesAsync(ct);
            return Results.Created($"/api/v1/me/api-keys/{row.Id}", new CreatedApiKey(row.Id, row.Name, row.Prefix, secret, row.CreatedAt, row.ExpiresAt));
        }).WithSummary("Create an API key; the key is in this answer only (stored hashed)");

        me.MapDelete("/api-keys/{id:guid}", async (Guid id, ProjectAccess access, PlatformDb db, TimeProvider time, CancellationToken ct) =>
        {
            var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id && k.UserId == access.UserId, ct)
                ?? throw PlatformException.NotFound("id", $"API key '{id}' not found");
            key.RevokedAt ??= time.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(ct);
            return Results.NoContent();
        }).WithSummary("Revoke an API key");

        var users = api.MapGroup("/users").WithTags("Account").RequireAuthorization(PlatformClaims.AdminPolicy);
        users.MapGet("/", async (PlatformDb db, CancellationToken ct) =>
            await db.Users.AsNoTracking().OrderBy(u => u.UserName).Select(u => View(u)).ToListAsync(ct));
        users.MapPost("/", async (CreateUserRequest request, UserAccounts accounts, CancellationToken ct) =>
        {
            var user = await accounts.CreateAsync(request.UserName ?? "", request.Password ?? "", request.DisplayName, request.IsAdmin, ct);
            return Results.Created($"/api/v1/users/{user.UserName}", View(user));
        }).WithSummary("Create a user (platform admins)");
    }

    static UserView View(User u) => new(u.Id, u.UserName, u.DisplayName, u.IsAdmin, u.CreatedAt, u.LastSignInAt, u.DisabledAt != null);
}
