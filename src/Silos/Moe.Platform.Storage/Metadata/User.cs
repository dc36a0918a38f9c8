namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// A person who signs in to the portal or calls the API. <see cref="PasswordHash"/> is ASP.NET Core Identity's PBKDF2
/// format (salted, iterated); the password itself is never stored. <see cref="IsAdmin"/> users administer the whole
/// platform (projects, users, the Hangfire dashboard) and may act in every project.
/// </summary>
public class User
{
    public const int MaxUserNameLength = 64;

    public Guid Id { get; set; } = Guid.NewGuid();
    /// <summary>Lower-case sign-in name, unique.</summary>
    public required string UserName { get; set; }
    public string? DisplayName { get; set; }
    public required string PasswordHash { get; set; }
    public bool IsAdmin { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? LastSignInAt { get; set; }
    public DateTime? DisabledAt { get; set; }

    public List<ProjectMember> Memberships { get; set; } = [];
}

/// <summary>
/// A user's key for the API. The secret is shown once at creation; only its SHA-256 is stored (a key is 256 random
/// bits, so a fast hash suffices, unlike a password). <see cref="Prefix"/>, the first characters of the key, finds the
/// row and lets a user tell keys apart without the secret.
/// </summary>
public class ApiKey
{
    public const int PrefixLength = 12;

    public Guid Id { get; set; } = Guid.NewGuid();
    public Guid UserId { get; set; }
    public required string Name { get; set; }
    public required string Prefix { get; set; }
    /// <summary>SHA-256 (hex) of the whole key.</summary>
    public required string SecretHash { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
    public DateTime? LastUsedAt { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public DateTime? RevokedAt { get; set; }

    public User? User { get; set; }
}
