using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Moe.Web.Tests;

/// <summary>Every /api/v1 route, found in the app's own endpoint table, answers 401 without credentials and never redirects.</summary>
[Collection(WebAppCollection.Name)]
public sealed class UnauthenticatedTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>(method, path) of every /api/v1 endpoint, route parameters filled with values their constraints accept.</summary>
    List<(string Method, string Path)> ApiRoutes()
    {
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1", StringComparison.Ordinal) == true);
        var routes = new List<(string, string)>();
        foreach (var endpoint in endpoints)
        {
            var path = "/" + string.Join("/", endpoint.RoutePattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
            {
                RoutePatternLiteralPart literal => literal.Content,
                RoutePatternSeparatorPart separator => separator.Content,
                RoutePatternParameterPart parameter => Dummy(parameter),
                _ => throw new InvalidOperationException($"unexpected route part {part}"),
            }))));
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            routes.AddRange(methods.Select(m => (m, path)));
        }
        return routes;
    }

    static string Dummy(RoutePatternParameterPart parameter)
    {
        var constraints = parameter.ParameterPolicies.Select(p => p.Content).ToList();
        if (constraints.Contains("guid")) return Guid.NewGuid().ToString();
        if (constraints.Contains("int") || constraints.Contains("long")) return "1";
        return "dummy-" + parameter.Name.ToLowerInvariant();
    }

    [Fact]
    public async Task Every_api_route_answers_401_without_credentials_and_never_redirects()
    {
        var routes = ApiRoutes();
        // The API as documented: projects, members, account, experiments, runs, checkpoints, models, datasets, cluster.
        Assert.True(routes.Count >= 35, $"only {routes.Count} /api/v1 routes found: {string.Join(", ", routes)}");
        foreach (var prefix in (string[])["/api/v1/projects", "/api/v1/me", "/api/v1/users", "/api/v1/experiments", "/api/v1/runs",
                     "/api/v1/models", "/api/v1/datasets", "/api/v1/cluster"])
            Assert.Contains(routes, r => r.Path.StartsWith(prefix, StringComparison.Ordinal));

        using var anonymous = app.Anonymous();
        var wrong = new List<string>();
        foreach (var (method, path) in routes)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            using var response = await anonymous.SendAsync(request, Ct);
            if (response.StatusCode != HttpStatusCode.Unauthorized || response.Headers.Location is not null)
                wrong.Add($"{method} {path}: {(int)response.StatusCode} {response.Headers.Location}");
        }
        Assert.True(wrong.Count == 0, "answered other than 401:\n" + string.Join("\n", wrong));
    }

    [Theory]
    [InlineData("Bearer moe_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // well-formed, unknown
    [InlineData("Bearer not-a-platform-key")]
    public async Task An_unknown_or_malformed_api_key_is_401_with_a_bearer_challenge(string authorization)
    {
        using var client = app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
    }
}
