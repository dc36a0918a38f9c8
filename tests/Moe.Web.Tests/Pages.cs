using System.Net;
using System.Text.RegularExpressions;

namespace Moe.Web.Tests;

/// <summary>Portal pages as a browser first gets them: the prerendered HTML, and the parts tests look for by data-testid.</summary>
public static class Pages
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>GET a page, expecting 200 HTML; <paramref name="decode"/> turns entities (&amp;#x27;) back into text.</summary>
    public static async Task<string> GetAsync(HttpClient client, string path, bool decode = false)
    {
        using var response = await client.GetAsync(path, Ct);
        var html = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        return decode ? WebUtility.HtmlDecode(html) : html;
    }

    public static string TestId(string id) => $"data-testid=\"{id}\"";

    /// <summary>The HTML of the table row with this test id (up to its closing tag).</summary>
    public static string Row(string html, string testId)
    {
        var match = Regex.Match(html, $"<tr[^>]*{Regex.Escape(TestId(testId))}[^>]*>(.*?)</tr>", RegexOptions.Singleline);
        Assert.True(match.Success, $"no row {testId} in the page");
        return match.Groups[1].Value;
    }
}
