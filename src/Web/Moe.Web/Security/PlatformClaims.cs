using System.Security.Claims;

namespace Moe.Web.Security;

/// <summary>The claims a signed-in principal carries (cookie or API key): its user id, name and whether it is a platform admin.</summary>
public static class PlatformClaims
{
    public const string Admin = "moe:admin";
    public const string AdminPolicy = "PlatformAdmin";

    public static ClaimsIdentity Identity(Guid userId, string userName, bool isAdmin, string scheme)
    {
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, userId.ToString()), new(ClaimTypes.Name, userName) };
        if (isAdmin) claims.Add(new Claim(Admin, "true"));
        return new ClaimsIdentity(claims, scheme);
    }

    public static Guid UserId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : throw new UnauthorizedAccessException("not signed in");

    public static bool IsPlatformAdmin(this ClaimsPrincipal user) => user.HasClaim(Admin, "true");
}
