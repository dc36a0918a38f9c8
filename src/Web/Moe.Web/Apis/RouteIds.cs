using System.Globalization;
using Moe.Platform;

namespace Moe.Web.Apis;

/// <summary>
/// Every id in an /api/v1 route is checked here, once, before a handler, a query or a grain sees it: a malformed one is a
/// 400 naming the route parameter as the API spells it. Numeric segments (versions, steps) and GUIDs are typed by route
/// constraints, which answer 404 to anything else.
/// </summary>
public sealed class RouteIds : IEndpointFilter
{
    private static readonly Dictionary<string, (string Field, Func<string, bool> IsValid)> Rules = new(StringComparer.Ordinal)
    {
        ["projectId"] = ("project_id", PlatformIds.IsValid),
        ["experimentId"] = ("experiment_id", PlatformIds.IsValid),
        ["runId"] = ("run_id", PlatformIds.IsValid),
        ["datasetId"] = ("dataset_id", PlatformIds.IsValid),
        ["model"] = ("model", PlatformIds.IsValid),
        ["alias"] = ("alias", PlatformIds.IsValid),
        ["versionOrAlias"] = ("version", v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 || PlatformIds.IsValid(v)),
        // User names are matched case-insensitively (the stored name is lower case).
        ["userName"] = ("user_name", v => PlatformIds.IsValid(v.ToLowerInvariant())),
    };

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        foreach (var (name, value) in context.HttpContext.Request.RouteValues)
            if (Rules.TryGetValue(name, out var rule) && value is string text && !rule.IsValid(text))
                throw new PlatformException(rule.Field,
                    $"'{Printable(text)}' is not a valid id: 1 to {PlatformIds.MaxLength} lower-case letters, digits, '-', '_' or '.', starting with a letter or digit");
        return next(context);
    }

    /// <summary>Route parameters of the API that name an id (for tests that check every route is covered).</summary>
    public static IReadOnlyCollection<string> Names => Rules.Keys;

    // The refused value goes back in the message: shortened, its control characters escaped.
    private static string Printable(string text)
    {
        var shown = text.Length > 80 ? text[..80] + "..." : text;
        return string.Concat(shown.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }
}
