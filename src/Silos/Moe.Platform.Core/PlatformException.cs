namespace Moe.Platform;

/// <summary>A request the control plane refuses, naming the field or id at fault (the API maps it to problem details).</summary>
public class PlatformException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}
