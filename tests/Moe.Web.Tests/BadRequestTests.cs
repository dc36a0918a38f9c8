using System.Net;
using System.Text;

namespace Moe.Web.Tests;

/// <summary>Input the framework cannot bind (malformed JSON, a value of the wrong type, a query value that does not
/// convert) is a 400 problem naming the field, as deployed (Production), not a bare 400.</summary>
[Collection(WebAppCollection.Name)]
public sealed class BadRequestTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("{\"experiment_id\": \"x\", \"priority\": \"high\"}", "priority")]
    [InlineData("{\"experiment_id\": \"x\", \"resources\": {\"gpus\": \"two\"}}", "resources.gpus")]
    [InlineData("not json at all", "body")]
    public async Task A_body_that_does_not_bind_names_the_field(string body, string field)
    {
        using var response = await app.Admin.PostAsync("/api/v1/runs", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Theory]
    [InlineData("/api/v1/runs?page=abc", "page")]
    [InlineData("/api/v1/runs?page_size=many", "page_size")]
    [InlineData("/api/v1/runs/nope/metrics/query?names=loss&from_step=first", "from_step")]
    public async Task A_query_value_that_does_not_convert_names_the_parameter(string url, string field)
    {
        using var response = await app.Admin.GetAsync(url, Ct);
        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Contains("is not a valid", problem["detail"]!.GetValue<string>());
    }
}
