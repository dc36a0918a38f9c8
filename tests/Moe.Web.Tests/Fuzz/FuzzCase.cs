using System.Net.Http.Headers;
using System.Text;

namespace Moe.Web.Tests.Fuzz;

/// <summary>Who sends a case: nobody signed in, a user with no role in the project, a viewer of it, or the platform admin.</summary>
public enum FuzzUser { Anonymous, Outsider, Viewer, Admin }

/// <summary>
/// One request of the fuzz run and what it must get: <see cref="MustRefuse"/> cases must be answered 4xx (the input is
/// malformed, or the user may not do this); the others may succeed. No case may get a 5xx, and a refused case must leave
/// no record behind.
/// </summary>
public sealed record FuzzCase(ApiOperation Operation, FuzzUser User, string Mutation, string Url, string? Body, string? ContentType, bool MustRefuse)
{
    public bool Writes => !Operation.IsRead;

    public HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(new HttpMethod(Operation.Method), Url);
        if (Body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Body));
            if (ContentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
        }
        return request;
    }

    public override string ToString() =>
        $"{User} {Operation.Method} {Url} [{Mutation}]" + (Body is null ? "" : $" {ContentType}: {(Body.Length > 160 ? Body[..160] + "..." : Body)}");
}

/// <summary>Judges one answer; null when it is acceptable.</summary>
public static class FuzzOracle
{
    public static string? Judge(FuzzCase fuzz, int status, bool recordsChanged)
    {
        if (status >= 500) return $"server error {status}";
        if (fuzz.MustRefuse && status is >= 200 and < 300) return $"accepted ({status}) where a refusal was due";
        if (status >= 400 && fuzz.Writes && recordsChanged) return $"refused ({status}) but left records behind";
        return null;
    }
}
