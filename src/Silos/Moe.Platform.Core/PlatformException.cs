namespace Moe.Platform;

/// <summary>What kind of refusal a <see cref="PlatformException"/> is; the API maps it to 400, 404 or 409.</summary>
public enum PlatformErrorKind
{
    /// <summary>The request itself is wrong (a missing or malformed field).</summary>
    Invalid,
    /// <summary>The id it names does not exist.</summary>
    NotFound,
    /// <summary>Well formed, but it clashes with what exists now (a taken name, an illegal transition).</summary>
    Conflict,
}

/// <summary>A request the control plane refuses, naming the field or id at fault (the API maps it to problem details).</summary>
public class PlatformException(string field, string problem, PlatformErrorKind kind = PlatformErrorKind.Invalid)
    : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
    public PlatformErrorKind Kind { get; } = kind;

    public static PlatformException NotFound(string field, string problem) => new(field, problem, PlatformErrorKind.NotFound);

    public static PlatformException Conflict(string field, string problem) => new(field, problem, PlatformErrorKind.Conflict);
}
