using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Moe.Web.Security;

namespace Moe.Web.Apis;

/// <summary>
/// POST /account/login (the /login page's form: user_name, password, return_url, remember and its antiforgery token) signs
/// in with a cookie and redirects; a wrong name or password redirects back to /login?error=1 without saying which was
/// wrong, a missing or stale token to /login?error=expired (no login CSRF). POST /account/logout signs out.
/// </summary>
public static class SignInEndpoints
{
    public static void MapSignInEndpoints(this WebApplication app)
    {
        app.MapPost("/account/login", async (HttpContext http, UserAccounts accounts, IAntiforgery antiforgery, CancellationToken ct) =>
        {
            var form = await http.Request.ReadFormAsync(ct);
            var returnUrl = LocalOrRoot(form["return_url"]);
            if (!await antiforgery.IsRequestValidAsync(http)) return Results.Redirect($"/login?error=expired&return_url={Uri.EscapeDataString(returnUrl)}");
            var user = await accounts.VerifyAsync(form["user_name"], form["password"], ct);
            if (user is null) return Results.Redirect($"/login?error=1&return_url={Uri.EscapeDataString(returnUrl)}");
            var identity = PlatformClaims.Identity(user.Id, user.UserName, user.IsAdmin, CookieAuthenticationDefaults.AuthenticationScheme);
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new(identity),
                new AuthenticationProperties { IsPersistent = form["remember"] == "on" || form["remember"] == "true" });
            return Results.Redirect(returnUrl);
        }).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();

        app.MapPost("/account/logout", async (HttpContext http, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http)) return Results.Redirect("/");
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect("/login");
        }).ExcludeFromDescription();
    }

    /// <summary>Only a local path is followed after sign-in (an absolute URL would be an open redirect).</summary>
    static string LocalOrRoot(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//") && !url.StartsWith("/\\") ? url : "/";
}
