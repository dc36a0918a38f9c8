using Moe.Platform.Storage.Metadata;
using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record MeView(Guid Id, string UserName, string? DisplayName, bool IsAdmin, IReadOnlyDictionary<string, ProjectRole> Projects);
public sealed record ApiKeyView(Guid Id, string Name, string Prefix, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? ExpiresAt, DateTime? RevokedAt);
public sealed record CreateApiKeyRequest(string? Name, int? ExpiresInDays);
public sealed record CreatedApiKey(Guid Id, string Name, string Prefix, string Key, DateTime CreatedAt, DateTime? ExpiresAt);
public sealed record UserView(Guid Id, string UserName, string? DisplayName, bool IsAdmin, DateTime CreatedAt, DateTime? LastSignInAt, bool Disabled);
public sealed record CreateUserRequest(string? UserName, string? Password, string? DisplayName, bool IsAdmin = false);
public sealed record UpdateUserRequest(bool? Disabled);

/// <summary>
/// /api/v1/me (who you are, your API keys) and /api/v1/users (platform admins manage accounts). The reads and commands
/// are <see cref="AccountQueries"/>, shared with the portal's account page.
/// </summary>
public static class AccountApi
{
    public const int MaxKeyLifetimeDays = AccountQueries.MaxKeyLifetimeDays;

    public static void MapAccountApi(this RouteGroupBuilder api)
    {
        var me = api.MapGroup("/me").WithTags("Account");
        me.MapGet("/", (ProjectAccess access, CancellationToken ct) => AccountQueries.MeAsync(access, ct));

        me.MapGet("/api-keys", (ProjectAccess access, CancellationToken ct) => AccountQueries.ListKeysAsync(access, ct));

        me.MapPost("/api-keys", async (CreateApiKeyRequest request, ProjectAccess access, TimeProvider time, CancellationToken ct) =>
        {
            var key = await AccountQueries.CreateKeyAsync(access, time, request, ct);
            return Results.Created($"/api/v1/me/api-keys/{key.Id}", key);
        }).WithSummary("Create an API key; the key is in this answer only (stored hashed)");

        me.MapDelete("/api-keys/{id:guid}", async (Guid id, ProjectAccess access, TimeProvider time, CancellationToken ct) =>
        {
            await AccountQueries.RevokeKeyAsync(access, time, id, ct);
            return Results.NoContent();
        }).WithSummary("Revoke an API key");

        var users = api.MapGroup("/users").WithTags("Account").RequireAuthorization(PlatformClaims.AdminPolicy);
        users.MapGet("/", (ProjectAccess access, CancellationToken ct) => AccountQueries.ListUsersAsync(access, ct));
        users.MapPost("/", async (CreateUserRequest request, ProjectAccess access, UserAccounts accounts, CancellationToken ct) =>
        {
            var user = await AccountQueries.CreateUserAsync(access, accounts, request, ct);
            return Results.Created($"/api/v1/users/{user.UserName}", user);
        }).WithSummary("Create a user (platform admins)");
        users.MapPatch("/{userName}", (string userName, UpdateUserRequest request, ProjectAccess access, TimeProvider time, CancellationToken ct) =>
            AccountQueries.SetDisabledAsync(access, time, userName, request.Disabled ?? throw new PlatformException("disabled", "is required (true or false)"), ct))
            .WithSummary("Disable a user (their sign-in, portal sessions and API keys stop working) or enable them again (platform admins)");
    }
}
