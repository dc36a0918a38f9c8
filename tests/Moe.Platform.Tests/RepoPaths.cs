using System.Reflection;

namespace Moe.Platform.Tests;

/// <summary>The repository root, recorded at build time so tests find repository files from any output folder.</summary>
public static class RepoPaths
{
    public static readonly string Root = typeof(RepoPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepoRoot").Value!;
}
