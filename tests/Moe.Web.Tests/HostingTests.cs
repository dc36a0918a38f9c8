using System.Net;

namespace Moe.Web.Tests;

/// <summary>Health, readiness, Prometheus metrics and the OpenAPI document, all without credentials.</summary>
[Collection(WebAppCollection.Name)]
public sealed class HostingTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Health_and_readiness_answer_healthy()
    {
        using var client = app.Anonymous();
        Assert.Equal("Healthy", await (await client.GetAsync("/healthz", Ct)).ExpectAsync(HttpStatusCode.OK));
        Assert.Equal("Healthy", await (await client.GetAsync("/readyz", Ct)).ExpectAsync(HttpStatusCode.OK));
    }

    [Fact]
    public async Task Metrics_are_served_in_the_prometheus_text_format()
    {
        await app.Admin.GetJsonAsync("/api/v1/me");
        using var client = app.Anonymous();
        var text = await Poll.UntilAsync(async () =>
        {
            var body = await (await client.GetAsync("/metrics", Ct)).ExpectAsync(HttpStatusCode.OK);
            return body.Contains("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal) ? body : null;
        }, TimeSpan.FromSeconds(30), "no request duration histogram in /metrics");
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text);
        Assert.Contains("http_route=\"/api/v1/me/\"", text);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        using var client = app.Anonymous();
        var document = await client.GetJsonAsync("/openapi/v1.json");
        Assert.Equal("MoE platform API", document["info"]!.Str("title"));
        var paths = document["paths"]!.AsObject();
        Assert.NotNull(paths["/api/v1/runs"]?["post"]);
        Assert.NotNull(paths["/api/v1/runs"]?["get"]);
        Assert.NotNull(paths["/api/v1/runs/{runId}/checkpoints/{step}/download"]);
        Assert.NotNull(paths["/api/v1/datasets/{datasetId}/versions"]?["post"]);
        Assert.DoesNotContain(paths, p => p.Key.StartsWith("/account", StringComparison.Ordinal));
        // Enums and doubles have strict converters of their own; the document still names the values and the type.
        var schemas = document["components"]!["schemas"]!;
        Assert.Equal(["viewer", "member", "admin"], schemas["ProjectRole"]!.Arr("enum").Select(v => v!.GetValue<string>()));
        Assert.Equal(["viewer", "member", "admin"], schemas["MeView"]!["properties"]!["projects"]!["additionalProperties"]!.Arr("enum").Select(v => v!.GetValue<string>()));
    }
}
