using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>
/// The reads and commands behind /api/v1/me, /api/v1/users and the portal's account page: who the user is, their API
/// keys (the secret shown once, only its SHA-256 stored), and, for platform admins, the users of the platform.
/// </summary>
public static class AccountQueries
{
    public const int MaxKeyLifetimeDays = 3650;

    public static async Task<MeView> MeAsync(ProjectAccess access, CancellationToken ct)
    {
        var user = await access.Db.Users.AsNoTracking().SingleAsync(u => u.Id == access.UserId, ct);
        return new MeView(user.Id, user.UserName, user.DisplayName, user.IsAdmin, await access.RolesAsync(ct));
    }

    /// <summary>The user's keys, newest first, without their secrets.</summary>
    public static async Task<List<ApiKeyView>> ListKeysAsync(ProjectAccess access, CancellationToken ct) =>
        await access.Db.ApiKeys.AsNoTracking().Where(k => k.UserId == access.UserId).OrderByDescending(k => k.CreatedAt)
            .Select(k => new ApiKeyView(k.Id, k.Name, k.Prefix, k.CreatedAt, k.LastUsedAt, k.ExpiresAt, k.RevokedAt)).ToListAsync(ct);

    /// <summary>A new key for the user; the answer is the only place its secret appears.</summary>
    public static async Task<CreatedApiKey> CreateKeyAsync(ProjectAccess access, TimeProvider time, CreateApiKeyRequest request, CancellationToken ct)
    {
        var name = TextRules.Name(request.Name, "name");
        if (request.ExpiresInDays is < 1 or > MaxKeyLifetimeDays)
            throw new PlatformException("expires_in_days", $"must be between 1 and {MaxKeyLifetimeDays}, or absent for a key that does not expire");
        var now = time.GetUtcNow().UtcDateTime;
        var (secret, row) = ApiKeys.Create(access.UserId, name, request.ExpiresInDays is { } days ? now.AddDays(days) : null);
        row.CreatedAt = now;
        access.Db.ApiKeys.Add(row);
        await access.Db.SaveChangesAsync(ct);
        return new CreatedApiKey(row.Id, row.Name, row.Prefix, secret, row.CreatedAt, row.ExpiresAt);
    }

    /// <summary>Revokes one of the user's keys (404 for another user's key); revoking twice keeps the first time.</summary>
    public static async Task RevokeKeyAsync(ProjectAccess access, TimeProvider time, Guid id, CancellationToken ct)
    {
        var key = await access.Db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id && k.UserId == access.UserId, ct)
            ?? throw PlatformException.NotFound("id", $"API key '{id}' not found");
        key.RevokedAt ??= time.GetUtcNow().UtcDateTime;
        await access.Db.SaveChangesAsync(ct);
    }

    /// <summary>Every user (platform admins).</summary>
    public static async Task<List<UserView>> ListUsersAsync(ProjectAccess access, CancellationToken ct)
    {
        access.RequirePlatformAdmin();
        return await access.Db.Users.AsNoTracking().OrderBy(u => u.UserName).Select(u => View(u)).ToListAsync(ct);
    }

    /// <summary>A new user (platform admins).</summary>
    public static async Task<UserView> CreateUserAsync(ProjectAccess access, UserAccounts accounts, CreateUserRequest request, CancellationToken ct)
    {
        access.RequirePlatformAdmin();
        return View(await accounts.CreateAsync(request.UserName ?? "", request.Password ?? "", request.DisplayName, request.IsAdmin, ct));
    }

    /// <summary>
    /// Disables a user (their cookie, portal circuits and API keys stop working) or enables them again (platform
    /// admins). Admins cannot disable themselves: the platform would be left without a way back in.
    /// </summary>
    public static async Task<UserView> SetDisabledAsync(ProjectAccess access, TimeProvider time, string userName, bool disabled, CancellationToken ct)
    {
        access.RequirePlatformAdmin();
        var name = userName.Trim().ToLowerInvariant();
        var user = await access.Db.Users.FirstOrDefaultAsync(u => u.UserName == name, ct)
            ?? throw PlatformException.NotFound("user_name", $"user '{userName}' not found");
        if (disabled && user.Id == access.UserId) throw PlatformException.Conflict("disabled", "you cannot disable your own account");
        user.DisabledAt = disabled ? user.DisabledAt ?? time.GetUtcNow().UtcDateTime : null;
        await access.Db.SaveChangesAsync(ct);
        return View(user);
    }

    static UserView View(User u) => new(u.Id, u.UserName, u.DisplayName, u.IsAdmin, u.CreatedAt, u.LastSignInAt, u.DisabledAt != null);
}
