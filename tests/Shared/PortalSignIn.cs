using System.Net;
using System.Text.RegularExpressions;

namespace Moe.Platform.Testing;

/// <summary>
/// Signing in to moe-web as a browser does, for the web tests and the web benchmark: GET the page for the antiforgery
/// cookie and its form's token, then POST /account/login with the form's fields. The client must keep cookies.
/// </summary>
public static partial class PortalSignIn
{
    /// <summary>Posts the sign-in form; success is a redirect to the return url ("/"), refusal one back to /login?error=.</summary>
    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string user, string password)
    {
        var token = await AntiforgeryTokenAsync(client, "/login");
        return await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["user_name"] = user, ["password"] = password, ["__RequestVerificationToken"] = token,
        }));
    }

    /// <summary>The antiforgery token of the form on a server-rendered page (the client keeps the matching cookie).</summary>
    public static async Task<string> AntiforgeryTokenAsync(HttpClient client, string page)
    {
        var html = await (await client.GetAsync(page)).EnsureSuccessStatusCode().Content.ReadAsStringAsync();
        var match = TokenPattern().Match(html);
        if (!match.Success) throw new InvalidOperationException($"no antiforgery token in {page}: {html[..Math.Min(html.Length, 500)]}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
