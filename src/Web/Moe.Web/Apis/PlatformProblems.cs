using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Moe.Platform;
using Moe.Platform.Storage.Artifacts;
using Moe.Web.Security;

namespace Moe.Web.Apis;

/// <summary>
/// Turns refusals into RFC 7807 problem details: a <see cref="PlatformException"/> becomes 400, 404 or 409 by its kind,
/// with <c>field</c> and <c>errors: {field: [problem]}</c> naming what is wrong; a missing role 403; a malformed or
/// oversized body 400 or 413. Anything else is a 500 without internals (logged by the framework).
/// </summary>
public sealed class PlatformProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = Describe(exception);
        if (problem is null) return false;
        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    public static ProblemDetails? Describe(Exception exception) => exception switch
    {
        PlatformException p => FieldProblem(p.Kind switch
        {
            PlatformErrorKind.NotFound => StatusCodes.Status404NotFound,
            PlatformErrorKind.Conflict => StatusCodes.Status409Conflict,
            _ => StatusCodes.Status400BadRequest,
        }, p.Field, p.Problem),
        ArtifactNotFoundException a => new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Not found", Detail = a.Message },
        AccessDeniedException d => new ProblemDetails { Status = StatusCodes.Status403Forbidden, Title = "Forbidden", Detail = d.Message },
        BadHttpRequestException { InnerException: JsonException json } => JsonProblem(json),
        BadHttpRequestException b when UnboundParameter.Match(b.Message) is { Success: true } m =>
            FieldProblem(StatusCodes.Status400BadRequest, SnakeCase(m.Groups["name"].Value), $"'{m.Groups["value"].Value}' is not a valid {m.Groups["type"].Value.TrimEnd('?')}"),
        BadHttpRequestException b => new ProblemDetails
        {
            Status = b.StatusCode, Title = b.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request too large" : "Bad request", Detail = b.Message,
        },
        // A JsonException of its own (not reading a body) is a server bug, a 500: a stored value that does not serialise is not the client's fault.
        _ => null,
    };

    // A body that does not parse, or a value of the wrong type, names the JSON path at fault ("priority", "resources.gpus").
    static ProblemDetails JsonProblem(JsonException json) =>
        FieldProblem(StatusCodes.Status400BadRequest, json.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "body", $"the body is not valid JSON: {json.Message}");

    // The framework's words for a query or route value that does not convert: Failed to bind parameter "int? pageSize" from "x".
    static readonly Regex UnboundParameter = new("""^Failed to bind parameter "(?<type>[^"]+) (?<name>\w+)" from "(?<value>[^"]*)"\.""", RegexOptions.CultureInvariant);

    // Query parameters are snake_case (page_size) while the message names the C# parameter (pageSize).
    static string SnakeCase(string name) => Regex.Replace(name, "(?<=[a-z0-9])([A-Z])", "_$1").ToLowerInvariant();

    public static ProblemDetails FieldProblem(int status, string field, string problem) => new()
    {
        Status = status,
        Title = status switch { 404 => "Not found", 409 => "Conflict", 415 => "Unsupported media type", _ => "Invalid request" },
        Detail = $"{field}: {problem}",
        Extensions = { ["field"] = field, ["errors"] = new Dictionary<string, string[]> { [field] = [problem] } },
    };
}
