using System.Text.RegularExpressions;

namespace Moe.Platform;

/// <summary>
/// The shape of ids the platform accepts for grain keys that also become artifact paths and URL segments: 1 to 64
/// characters, lower-case letters, digits, '-', '_' and '.', starting with a letter or digit.
/// </summary>
public static partial class PlatformIds
{
    public const int MaxLength = 64;

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id) && !id.Contains("..");

    /// <summary>Throws a <see cref="PlatformException"/> naming <paramref name="field"/> when <paramref name="id"/> is malformed.</summary>
    public static string Require(string? id, string field) =>
        IsValid(id) ? id! : throw new PlatformException(field,
            $"'{id}' is not a valid id: 1 to {MaxLength} lower-case letters, digits, '-', '_' or '.', starting with a letter or digit");

    /// <summary>A new random id with a readable prefix ("run-3f9c2a7b41d0").</summary>
    public static string New(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
