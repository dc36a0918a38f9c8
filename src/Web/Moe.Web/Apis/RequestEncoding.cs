using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Moe.Web.Apis;

/// <summary>
/// Request content types the API cannot read are a 415 naming <c>content_type</c>: a charset .NET does not know
/// (<c>charset=bogus-9</c>) or has disabled (<c>utf-7</c>) is answered before any endpoint tries to decode the body (which
/// threw, a 500 on every JSON route), and the framework's own 415s (<c>text/plain</c> on a JSON route) name it too.
/// </summary>
public static class RequestEncoding
{
    public static IApplicationBuilder UseKnownRequestCharsets(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.ContentType is { } contentType && MediaTypeHeaderValue.TryParse(contentType, out var media) && media.Charset.HasValue)
        {
            var charset = HeaderUtilities.RemoveQuotes(media.Charset).Value!;
            if (!IsKnown(charset))
            {
                context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = PlatformProblems.FieldProblem(StatusCodes.Status415UnsupportedMediaType, "content_type",
                        $"charset '{media.Charset.Value}' is not a known encoding; send UTF-8"),
                });
                return;
            }
            // A quoted charset ("utf-8") is the same charset (RFC 9110), which the framework's JSON reader does not unquote.
            if (charset != media.Charset.Value)
            {
                media.Charset = charset;
                context.Request.ContentType = media.ToString();
            }
        }
        await next(context);
    });

    /// <summary>Names <c>content_type</c> in a 415 that does not name a field yet (the framework's: a JSON route sent text).</summary>
    public static void NameContentType(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Status != StatusCodes.Status415UnsupportedMediaType || problem.Extensions.ContainsKey("field")) return;
        var named = PlatformProblems.FieldProblem(StatusCodes.Status415UnsupportedMediaType, "content_type",
            problem.Detail ?? $"'{context.HttpContext.Request.ContentType}' is not a content type this route reads; JSON bodies are application/json");
        (problem.Title, problem.Detail) = (named.Title, named.Detail);
        foreach (var (key, value) in named.Extensions) problem.Extensions[key] = value;
    }

    static bool IsKnown(string charset)
    {
        try
        {
            Encoding.GetEncoding(charset);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException) // NotSupportedException: UTF-7, disabled in .NET
        {
            return false;
        }
    }
}
