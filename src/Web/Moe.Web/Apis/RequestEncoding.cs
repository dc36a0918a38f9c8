using System.Text;
using Microsoft.Net.Http.Headers;

namespace Moe.Web.Apis;

/// <summary>
/// A request body in a charset .NET does not know (<c>application/json; charset=bogus-9</c>) is a 415 naming the
/// charset, before any endpoint tries to decode it (reading it threw, a 500 on every JSON route).
/// </summary>
public static class RequestEncoding
{
    public static IApplicationBuilder UseKnownRequestCharsets(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.ContentType is { } contentType && MediaTypeHeaderValue.TryParse(contentType, out var media)
            && media.Charset.HasValue && !IsKnown(media.Charset.Value!.Trim('"')))
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
        await next(context);
    });

    static bool IsKnown(string charset)
    {
        try
        {
            Encoding.GetEncoding(charset);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
