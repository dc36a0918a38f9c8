namespace Moe.Platform;

/// <summary>
/// The one rule for text the platform stores from users (names, descriptions, reasons): trimmed, bounded in length, and
/// free of control characters, so lists stay small and logs and terminals show what was meant. Ids have their own,
/// stricter shape (<see cref="PlatformIds"/>). Every violation names the field.
/// </summary>
public static class TextRules
{
    /// <summary>Names and other one-line text: project, experiment and run names, API key names, display names.</summary>
    public const int MaxNameLength = 200;

    /// <summary>Descriptions and reasons: a paragraph or a few, not a document.</summary>
    public const int MaxDescriptionLength = 4000;

    /// <summary>A required one-line name: trimmed, 1 to <paramref name="maxLength"/> characters, no control characters.</summary>
    public static string Name(string? value, string field, int maxLength = MaxNameLength) =>
        OptionalName(value, field, maxLength) ?? throw new PlatformException(field, "is required");

    /// <summary>An optional one-line name: null when absent or blank, else as <see cref="Name"/>.</summary>
    public static string? OptionalName(string? value, string field, int maxLength = MaxNameLength)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var trimmed = value.Trim();
        Check(trimmed, field, maxLength, multiLine: false);
        return trimmed;
    }

    /// <summary>Optional free text: null when absent or blank; line breaks and tabs allowed (CR LF becomes LF), other control characters not.</summary>
    public static string? Description(string? value, string field, int maxLength = MaxDescriptionLength)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var trimmed = value.Replace("\r\n", "\n").Trim();
        Check(trimmed, field, maxLength, multiLine: true);
        return trimmed;
    }

    private static void Check(string text, string field, int maxLength, bool multiLine)
    {
        if (text.Length > maxLength) throw new PlatformException(field, $"must be at most {maxLength} characters (got {text.Length})");
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (multiLine && c is '\n' or '\t') continue;
            if (char.IsControl(c))
                throw new PlatformException(field, $"must not contain control characters (U+{(int)c:X4} at position {i}){(multiLine ? "" : "; it is one line")}");
            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[++i])))
                throw new PlatformException(field, $"is not valid Unicode (a lone surrogate at position {i})");
        }
    }
}
