using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Security;

/// <summary>Creates users and checks passwords with ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, salted, iterated).</summary>
public sealed class UserAccounts(IDbContextFactory<PlatformDb> databases, TimeProvider time)
{
    public const int MinPasswordLength = 8;
    static readonly PasswordHasher<User> Hasher = new();

    public async Task<User> CreateAsync(string userName, string password, string? displayName, bool isAdmin, CancellationToken cancellationToken = default)
    {
        var name = NormaliseUserName(userName);
        if (string.IsNullOrEmpty(password) || password.Length < MinPasswordLength)
            throw new PlatformException("password", $"must be at least {MinPasswordLength} characters");
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (await db.Users.AnyAsync(u => u.UserName == name, cancellationToken))
            throw PlatformException.Conflict("user_name", $"user '{name}' already exists");
        var user = new User { UserName = name, DisplayName = displayName?.Trim(), PasswordHash = "", IsAdmin = isAdmin, CreatedAt = time.GetUtcNow().UtcDateTime };
        user.PasswordHash = Hasher.HashPassword(user, password);
        db.Users.Add(user);
        await db.SaveChangesAsync(cancellationToken);
        return user;
    }

    /// <summary>The user when the name and password match an enabled account, else null (the caller says only "wrong").</summary>
    public async Task<User?> VerifyAsync(string? userName, string? password, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(userName) || string.IsNullOrEmpty(password)) return null;
        var name = userName.Trim().ToLowerInvariant();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var user = await db.Users.FirstOrDefaultAsync(u => u.UserName == name, cancellationToken);
        if (user is null || user.DisabledAt is not null) return null;
        var result = Hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (result == PasswordVerificationResult.Failed) return null;
        if (result == PasswordVerificationResult.SuccessRehashNeeded) user.PasswordHash = Hasher.HashPassword(user, password);
        user.LastSignInAt = time.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        return user;
    }

    /// <summary>Whether the account still exists and is not disabled (checked on every cookie request and circuit revalidation).</summary>
    public async Task<bool> IsEnabledAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Users.AnyAsync(u => u.Id == userId && u.DisabledAt == null, cancellationToken);
    }

    public static string NormaliseUserName(string? userName)
    {
        var name = userName?.Trim().ToLowerInvariant() ?? "";
        if (!PlatformIds.IsValid(name))
            throw new PlatformException("user_name", $"'{userName}' is not a valid user name: 1 to {PlatformIds.MaxLength} lower-case letters, digits, '-', '_' or '.'");
        return name;
    }
}
