namespace Moe.Platform.Grains;

/// <summary>The grain storage every control-plane grain persists to (EF Core in the silo, in-memory in tests).</summary>
public static class PlatformStorage
{
    public const string Name = "platform";
}
