using System.Net;
using System.Text;

namespace Moe.Web.Tests;

/// <summary>Request size limits: API bodies are capped at Web:MaxRequestBytes (here 64 KiB); dataset uploads at the larger upload limit.</summary>
[Collection(WebAppCollection.Name)]
public sealed class LimitsTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    // The bulk is in a property the API does not read: a description that long is refused for its own sake (TextRules).
    static string BigJson(int bytes) => new StringBuilder("{\"name\":\"big\",\"padding\":\"").Append('x', bytes).Append("\"}").ToString();

    [Fact]
    public async Task A_json_body_over_the_limit_is_413_problem_details()
    {
        var project = await app.NewProjectAsync("limits");
        var body = BigJson(WebApp.MaxRequestBytes + 1024).Replace("\"name\":\"big\"", $"\"project\":\"{project}\",\"name\":\"big\"");
        using var response = await app.Admin.PostAsync("/api/v1/experiments", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await response.ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Empty((await app.Admin.GetJsonAsync($"/api/v1/experiments?project={project}")).Arr());

        // Just under the limit is read.
        using var under = await app.Admin.PostAsync("/api/v1/experiments",
            new StringContent(BigJson(WebApp.MaxRequestBytes - 1024).Replace("\"name\":\"big\"", $"\"project\":\"{project}\",\"name\":\"big\""), Encoding.UTF8, "application/json"), Ct);
        await under.ExpectJsonAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_chunked_json_body_over_the_limit_is_413_too()
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(BigJson(WebApp.MaxRequestBytes * 2))));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/me/api-keys") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await app.Admin.SendAsync(request, Ct);
        await response.ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task A_dataset_upload_may_exceed_the_api_limit()
    {
        var id = Names.Unique("large");
        await (await app.Admin.PostJsonAsync("/api/v1/datasets", new { id })).ExpectAsync(HttpStatusCode.Created);
        var lines = Corpus.Documents(seed: 9, count: 800).ToList();
        Assert.True(lines.Sum(l => l.Length + 1) > 2 * WebApp.MaxRequestBytes);
        using var form = Corpus.Upload(("large.jsonl", lines));
        form.Add(new StringContent("300"), "tokenizer_vocab");
        await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", form, Ct)).ExpectAsync(HttpStatusCode.Accepted);
        await WebApp.WaitForDatasetVersionAsync(app.Admin, id, 1);
    }
}
