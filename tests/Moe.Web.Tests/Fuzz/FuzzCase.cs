using System.Text;

namespace Moe.Web.Tests.Fuzz;

/// <summary>
/// Who sends a case: nobody signed in, a Bearer key that is no key, a user with no role in the fuzz project, a viewer of
/// it, or the platform admin (whose malformed requests get past every role check to the validation).
/// </summary>
public enum FuzzUser { Anonymous, ForgedKey, Outsider, Viewer, Admin }

/// <summary>
/// One request of the fuzz run and what it must get: <see cref="MustRefuse"/> cases must be answered 4xx (the input is
/// malformed, or the user may not do this); the others may succeed. No case may get a 5xx, a caller without valid
/// credentials gets 401 whatever they send, and a refused case leaves no record behind.
/// </summary>
public sealed record FuzzCase(ApiOperation Operation, FuzzUser User, string Mutation, string Url, string? Body, string? ContentType, bool MustRefuse)
{
    public bool Unauthenticated => User is FuzzUser.Anonymous or FuzzUser.ForgedKey;

    public HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(new HttpMethod(Operation.Method), Url);
        if (Body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Body));
            // Unchecked: a malformed content type ("multipart/form-data; boundary=") is one of the things sent.
            if (ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
        }
        return request;
    }

    public override string ToString() =>
        $"{User} {Operation.Method} {Excerpt(Url, 200)} [{Mutation}]" + (Body is null ? "" : $" {ContentType ?? "(no content type)"}: {Excerpt(Body, 160)}");

    public static string Excerpt(string text, int length)
    {
        var line = text.ReplaceLineEndings("\\n");
        return line.Length > length ? $"{line[..length]}... ({text.Length:N0} chars)" : line;
    }
}

/// <summary>Judges one answer: null when it is acceptable, else the problem (without the status, so alike answers group).</summary>
public static class FuzzOracle
{
    public const string ServerError = "server error";
    public const string NotUnauthorized = "not 401 without valid credentials";
    public const string WrongfulAcceptance = "accepted where a refusal was due";
    public const string LeftRecords = "refused but left records behind";
    public const string UnexpectedStatus = "neither a success nor a refusal";

    /// <param name="recordsLeft">What the request added to the records (rows, uploaded files), or null when nothing.</param>
    public static string? Judge(FuzzCase fuzz, int status, string? recordsLeft)
    {
        if (status >= 500) return ServerError;
        if (fuzz.Unauthenticated && status != 401) return NotUnauthorized;
        if (status is < 200 or (>= 300 and < 400)) return UnexpectedStatus;
        if (fuzz.MustRefuse && status < 300) return WrongfulAcceptance;
        if (status >= 400 && recordsLeft is not null) return LeftRecords;
        return null;
    }
}
