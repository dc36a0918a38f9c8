using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Security;

/// <summary>Signs a request in with the API key it carries (revoked, expired or disabled-user keys fail).</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    IDbContextFactory<PlatformDb> databases, TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    // Writing last-used on every request would make each API call a database write; once a minute is enough to audit.
    static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var secret = ApiKeys.FromHeaders(Request.Headers);
        if (secret is null) return AuthenticateResult.NoResult();
        if (!secret.StartsWith(ApiKeys.Marker, StringComparison.Ordinal)) return AuthenticateResult.Fail("not a platform API key");
        await using var db = await databases.CreateDbContextAsync(Context.RequestAborted);
        var prefix = ApiKeys.PrefixOf(secret);
        var key = await db.ApiKeys.Include(k => k.User).FirstOrDefaultAsync(k => k.Prefix == prefix, Context.RequestAborted);
        var now = time.GetUtcNow().UtcDateTime;
        if (key is null || !ApiKeys.Matches(key, secret)) return AuthenticateResult.Fail("unknown API key");
        if (key.RevokedAt is not null) return AuthenticateResult.Fail("the API key was revoked");
        if (key.ExpiresAt is { } expires && expires <= now) return AuthenticateResult.Fail("the API key has expired");
        if (key.User is null || key.User.DisabledAt is not null) return AuthenticateResult.Fail("the key's user is disabled");
        if (key.LastUsedAt is null || now - key.LastUsedAt > LastUsedResolution)
        {
            key.LastUsedAt = now;
            await db.SaveChangesAsync(Context.RequestAborted);
        }
        var identity = PlatformClaims.Identity(key.User.Id, key.User.UserName, key.User.IsAdmin, Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new(identity), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}
