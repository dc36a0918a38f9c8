namespace Moe.Platform.Storage.Artifacts;

/// <summary>
/// The rules for artifact keys: '/'-separated relative paths that mean the same thing as a blob name and as a path
/// under a local root, so a key can never escape the root (no "..", no leading '/', no backslash).
/// </summary>
public static class ArtifactKey
{
    /// <summary>Azure's limit on blob names; the local store keeps the same limit so both accept the same keys.</summary>
    public const int MaxLength = 1024;

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="key"/> when it is not a valid key.</summary>
    public static void Validate(string key, string paramName = "key")
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (Problem(key, isPrefix: false) is { } problem)
            throw new ArgumentException($"invalid artifact key '{key}': {problem}", paramName);
    }

    /// <summary>
    /// Throws when <paramref name="prefix"/> is not a valid prefix: "" (everything), or the start of a valid key,
    /// optionally ending with '/'.
    /// </summary>
    public static void ValidatePrefix(string prefix, string paramName = "prefix")
    {
        ArgumentNullException.ThrowIfNull(prefix, paramName);
        if (prefix.Length > 0 && Problem(prefix, isPrefix: true) is { } problem)
            throw new ArgumentException($"invalid artifact prefix '{prefix}': {problem}", paramName);
    }

    /// <summary>Joins a folder prefix and a relative path: "a/b" + "c" = "a/b/c"; "" + "c" = "c".</summary>
    public static string Combine(string folder, string relative) =>
        folder.Length == 0 ? relative : folder.EndsWith('/') ? folder + relative : folder + "/" + relative;

    private static string? Problem(string key, bool isPrefix)
    {
        if (string.IsNullOrWhiteSpace(key)) return "must not be empty";
        if (key.Length > MaxLength) return $"longer than {MaxLength} characters";
        if (key.StartsWith('/')) return "must be relative (no leading '/')";
        if (key.Contains('\\')) return "must use '/' as separator (no '\\')";
        if (key.Any(char.IsControl)) return "must not contain control characters";
        if (!isPrefix && key.EndsWith('/')) return "names a folder (ends with '/'), not an artifact";

        var segments = key.Split('/');
        // A prefix's last segment may be empty ("runs/") or the start of a name ("runs/r").
        int checkedSegments = isPrefix && key.EndsWith('/') ? segments.Length - 1 : segments.Length;
        for (int i = 0; i < checkedSegments; i++)
        {
            if (segments[i].Length == 0) return "must not contain empty segments ('//')";
            if (segments[i] is "." or "..") return $"must not contain '{segments[i]}' segments";
        }
        return null;
    }
}
