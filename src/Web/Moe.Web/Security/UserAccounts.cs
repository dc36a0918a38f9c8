using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Security;

/// <summary>Creates users and checks passwords with ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, salted, iterated).</summary>
public sealed class UserAccounts(IDbContextFactory<PlatformDb> databases, TimeProvider time)
{
    public const int MinUserNameLength = 3;
    public const int MinPasswordLength = 12, MaxPasswordLength = 256, MinDistinctPasswordCharacters = 5;
    static readonly PasswordHasher<User> Hasher = new();

    public async Task<User> CreateAsync(string userName, string password, string? displayName, bool isAdmin, CancellationToken cancellationToken = default)
    {
        var name = NormaliseUserName(userName);
        if (PasswordProblem(password) is { } problem) throw new PlatformException("password", problem);
        displayName = TextRules.OptionalName(displayName, "display_name");
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (await db.Users.AnyAsync(u => u.UserName == name, cancellationToken))
            throw PlatformException.Conflict("user_name", $"user '{name}' already exists");
        var user = new User { UserName = name, DisplayName = displayName, PasswordHash = "", IsAdmin = isAdmin, CreatedAt = time.GetUtcNow().UtcDateTime };
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

    /// <summary>
    /// The password policy (docs/web.md): 12 to 256 characters, at least 5 different ones, not only whitespace, no control
    /// characters. Null when the password meets it, else what it lacks. Length is what makes a password strong; the
    /// distinct-character rule only stops the degenerate ones ("aaaaaaaaaaaa").
    /// </summary>
    public static string? PasswordProblem(string? password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < MinPasswordLength) return $"must be at least {MinPasswordLength} characters";
        if (password.Length > MaxPasswordLength) return $"must be at most {MaxPasswordLength} characters";
        if (string.IsNullOrWhiteSpace(password)) return "must not be only whitespace";
        if (password.Any(char.IsControl)) return "must not contain control characters";
        if (password.Distinct().Count() < MinDistinctPasswordCharacters) return $"must use at least {MinDistinctPasswordCharacters} different characters";
        return null;
    }

    public static string NormaliseUserName(string? userName)
    {
        var name = userName?.Trim().ToLowerInvariant() ?? "";
        if (name.Length < MinUserNameLength || !PlatformIds.IsValid(name))
            throw new PlatformException("user_name",
                $"'{userName}' is not a valid user name: {MinUserNameLength} to {PlatformIds.MaxLength} lower-case letters, digits, '-', '_' or '.', starting with a letter or digit");
        return name;
    }
}
