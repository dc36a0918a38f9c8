using System.Security.Cryptography;
using System.Text;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Security;

/// <summary>
/// API keys look like <c>moe_</c> + 43 URL-safe base64 characters (256 random bits). The first
/// <see cref="ApiKey.PrefixLength"/> characters find the row; the SHA-256 of the whole key is compared in constant time.
/// </summary>
public static class ApiKeys
{
    public const string Scheme = "ApiKey";
    public const string Marker = "moe_";

    /// <summary>A new key: the secret (shown once) and the row that stores only its hash.</summary>
    public static (string Secret, ApiKey Row) Create(Guid userId, string name, DateTime? expiresAt)
    {
        var secret = Marker + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (secret, new ApiKey
        {
            UserId = userId, Name = name, Prefix = PrefixOf(secret), SecretHash = Hash(secret), ExpiresAt = expiresAt,
        });
    }

    public static string PrefixOf(string secret) => secret.Length >= ApiKey.PrefixLength ? secret[..ApiKey.PrefixLength] : secret;

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool Matches(ApiKey row, string secret) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(row.SecretHash), Encoding.ASCII.GetBytes(Hash(secret)));

    /// <summary>The key in <c>Authorization: Bearer moe_...</c> or <c>X-Api-Key</c>, or null.</summary>
    public static string? FromHeaders(IHeaderDictionary headers)
    {
        if (headers.TryGetValue("X-Api-Key", out var direct) && !string.IsNullOrWhiteSpace(direct)) return direct.ToString().Trim();
        var authorization = headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
    }
}
