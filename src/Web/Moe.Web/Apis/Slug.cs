using System.Text;
using Moe.Platform;

namespace Moe.Web.Apis;

/// <summary>Readable ids from names ("Top-2 vs Top-1!" -> "top-2-vs-top-1"), valid as <see cref="PlatformIds"/>.</summary>
public static class Slug
{
    const int MaxStem = 48;

    public static string From(string name, string fallbackPrefix)
    {
        var text = new StringBuilder();
        foreach (var c in name.Trim().ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_') text.Append(c);
            else if (text.Length > 0 && text[^1] != '-') text.Append('-');
            if (text.Length == MaxStem) break;
        }
        var slug = text.ToString().Trim('-', '.', '_').Replace("..", ".");
        return PlatformIds.IsValid(slug) ? slug : PlatformIds.New(fallbackPrefix);
    }

    /// <summary>The id with a short random suffix, when the plain one is taken.</summary>
    public static string WithSuffix(string id) => $"{id[..Math.Min(id.Length, MaxStem)]}-{Guid.NewGuid():N}"[..(Math.Min(id.Length, MaxStem) + 9)];
}
