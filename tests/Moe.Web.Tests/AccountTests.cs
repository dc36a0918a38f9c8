using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Moe.Web.Tests;

/// <summary>Sign-in with the cookie, users (platform admins only), and API keys: hashed at rest, listed without the secret, revocable, expiring.</summary>
[Collection(WebAppCollection.Name)]
public sealed class AccountTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_wrong_password_redirects_back_to_the_form_and_signs_nobody_in()
    {
        using var client = app.CookieClient();
        using var response = await WebApp.SignInAsync(client, "admin", "not-the-password", expectSuccess: false);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login?error=1", response.Headers.Location?.OriginalString);
        Assert.False(response.Headers.Contains("Set-Cookie"), "a failed sign-in set a cookie");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me", Ct)).StatusCode);
    }

    [Fact]
    public async Task The_right_password_signs_the_admin_in_with_a_cookie()
    {
        using var client = app.CookieClient();
        using var response = await WebApp.SignInAsync(client, "ADMIN ", WebApp.AdminPassword); // names are trimmed and lower-cased
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("moe.auth=") && c.Contains("httponly", StringComparison.OrdinalIgnoreCase));

        var me = await client.GetJsonAsync("/api/v1/me");
        Assert.Equal("admin", me.Str("user_name"));
        Assert.True(me["is_admin"]!.GetValue<bool>());

        // Sign-out is a form on every portal page; without its antiforgery token (a cross-site form) nothing happens.
        await (await client.PostAsync("/account/logout", null, Ct)).ExpectAsync(HttpStatusCode.Redirect);
        await client.GetJsonAsync("/api/v1/me");
        var token = await WebApp.AntiforgeryTokenAsync(client, "/");
        var logout = await client.PostAsync("/account/logout", new FormUrlEncodedContent([new("__RequestVerificationToken", token)]), Ct);
        await logout.ExpectAsync(HttpStatusCode.Redirect);
        Assert.Equal("/login", logout.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me", Ct)).StatusCode);
    }

    [Fact]
    public async Task Sign_in_without_the_forms_antiforgery_token_is_refused()
    {
        // A cross-site page posting the right credentials (login CSRF) has no token: the user stays signed out.
        using var client = app.CookieClient();
        var response = await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["user_name"] = "admin", ["password"] = WebApp.AdminPassword,
        }), Ct);
        await response.ExpectAsync(HttpStatusCode.Redirect);
        Assert.StartsWith("/login?error=expired", response.Headers.Location?.OriginalString);
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("moe.auth="));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me", Ct)).StatusCode);
    }

    [Fact]
    public async Task Only_platform_admins_create_users_and_user_names_are_checked()
    {
        var user = await app.NewUserAsync("plain");
        await (await user.Api.PostJsonAsync("/api/v1/users", new { user_name = Names.Unique("x"), password = "long-enough-password" }))
            .ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await user.Api.GetAsync("/api/v1/users", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);

        await (await app.Admin.PostJsonAsync("/api/v1/users", new { user_name = user.Name, password = "long-enough-password" }))
            .ExpectProblemAsync(HttpStatusCode.Conflict, "user_name");
        await (await app.Admin.PostJsonAsync("/api/v1/users", new { user_name = "no spaces allowed", password = "long-enough-password" }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "user_name");
        await (await app.Admin.PostJsonAsync("/api/v1/users", new { user_name = Names.Unique("short"), password = "short" }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "password");

        var users = await app.Admin.GetJsonAsync("/api/v1/users");
        var listed = Assert.Single(users.Arr(), u => u.Str("user_name") == user.Name);
        Assert.False(listed!["is_admin"]!.GetValue<bool>());
        Assert.Null(listed["password_hash"]); // never shown
    }

    [Fact]
    public async Task An_api_key_works_as_bearer_and_as_x_api_key_and_only_its_sha256_is_stored()
    {
        var user = await app.NewUserAsync("keys");
        using var created = await user.Cookie.PostJsonAsync("/api/v1/me/api-keys", new { name = "ci" });
        var key = await created.ExpectJsonAsync(HttpStatusCode.Created);
        var secret = key.Str("key");
        Assert.StartsWith("moe_", secret);
        Assert.Equal(4 + 43, secret.Length); // 256 random bits, URL-safe base64
        Assert.Equal(secret[..12], key.Str("prefix"));
        Assert.Equal($"/api/v1/me/api-keys/{key.Str("id")}", created.Headers.Location?.OriginalString);
        Assert.Null(key["expires_at"]?.GetValue<string>());

        using (var bearer = app.BearerClient(secret))
            Assert.Equal(user.Name, (await bearer.GetJsonAsync("/api/v1/me")).Str("user_name"));
        using (var header = app.Anonymous())
        {
            header.DefaultRequestHeaders.Add("X-Api-Key", secret);
            Assert.Equal(user.Name, (await header.GetJsonAsync("/api/v1/me")).Str("user_name"));
        }

        // The list shows the prefix, never the secret.
        using var list = await user.Api.GetAsync("/api/v1/me/api-keys", Ct);
        var listText = await list.ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(secret, listText);
        var listed = Assert.Single(System.Text.Json.Nodes.JsonNode.Parse(listText)!.Arr(), k => k.Str("id") == key.Str("id"));
        Assert.Equal(secret[..12], listed.Str("prefix"));
        Assert.Null(listed!["key"]);
        Assert.NotNull(listed["last_used_at"]?.GetValue<DateTime>()); // it was just used

        // At rest: the row holds the SHA-256 of the key; the key itself is nowhere in the database files.
        await using (var db = app.NewDb())
        {
            var row = await db.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == Guid.Parse(key.Str("id")), Ct);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret))), row.SecretHash);
            Assert.Equal(secret[..12], row.Prefix);
        }
        foreach (var file in Directory.GetFiles(app.DataDirectory, "platform.db*"))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, Ct);
            Assert.True(copy.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret[12..])) < 0, $"{file} contains the API key");
        }
    }

    [Fact]
    public async Task A_revoked_key_is_refused()
    {
        var user = await app.NewUserAsync("revoke");
        var key = await (await user.Cookie.PostJsonAsync("/api/v1/me/api-keys", new { name = "short-lived" })).ExpectJsonAsync(HttpStatusCode.Created);
        using var client = app.BearerClient(key.Str("key"));
        await client.GetJsonAsync("/api/v1/me");

        await (await user.Cookie.DeleteAsync($"/api/v1/me/api-keys/{key.Str("id")}", Ct)).ExpectAsync(HttpStatusCode.NoContent);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me", Ct)).StatusCode);
        var listed = Assert.Single((await user.Cookie.GetJsonAsync("/api/v1/me/api-keys")).Arr(), k => k.Str("id") == key.Str("id"));
        Assert.NotNull(listed!["revoked_at"]?.GetValue<DateTime>());
        // Another user cannot revoke (or even see) someone's key.
        var other = await app.NewUserAsync("other");
        await (await other.Api.DeleteAsync($"/api/v1/me/api-keys/{key.Str("id")}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "id");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(3651)]
    public async Task An_out_of_range_lifetime_is_refused_naming_expires_in_days(int days)
    {
        await (await app.Admin.PostJsonAsync("/api/v1/me/api-keys", new { name = "bad", expires_in_days = days }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "expires_in_days");
    }

    [Fact]
    public async Task A_key_without_a_name_is_refused_naming_name()
    {
        await (await app.Admin.PostJsonAsync("/api/v1/me/api-keys", new { name = "  " })).ExpectProblemAsync(HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task A_key_works_until_it_expires_and_a_disabled_users_keys_and_cookies_stop_working()
    {
        var user = await app.NewUserAsync("expiry");
        var key = await (await user.Cookie.PostJsonAsync("/api/v1/me/api-keys", new { name = "a day", expires_in_days = 1 }))
            .ExpectJsonAsync(HttpStatusCode.Created);
        var expires = key["expires_at"]!.GetValue<DateTime>();
        Assert.InRange(expires, DateTime.UtcNow.AddHours(23), DateTime.UtcNow.AddHours(25));
        using var client = app.BearerClient(key.Str("key"));
        await client.GetJsonAsync("/api/v1/me");

        // A day later (moved in the database): refused.
        await using (var db = app.NewDb())
        {
            var row = await db.ApiKeys.SingleAsync(k => k.Id == Guid.Parse(key.Str("id")), Ct);
            row.ExpiresAt = DateTime.UtcNow.AddMinutes(-1);
            await db.SaveChangesAsync(Ct);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me", Ct)).StatusCode);

        // The user's other key works until the user is disabled.
        await user.Api.GetJsonAsync("/api/v1/me");
        await using (var db = app.NewDb())
        {
            var row = await db.Users.SingleAsync(u => u.UserName == user.Name, Ct);
            row.DisabledAt = DateTime.UtcNow;
            await db.SaveChangesAsync(Ct);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.Api.GetAsync("/api/v1/me", Ct)).StatusCode);
        // The cookie the user signed in with earlier stops working too (not only when it expires in days).
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.Cookie.GetAsync("/api/v1/me", Ct)).StatusCode);
        using var again = app.CookieClient();
        using var signIn = await WebApp.SignInAsync(again, user.Name, user.Password, expectSuccess: false);
        Assert.StartsWith("/login?error=1", signIn.Headers.Location?.OriginalString);
    }
}
