using System.Diagnostics;
using Moe.Supervision;

namespace Moe.Platform.Worker.Jobs;

/// <summary>
/// Where <c>moe-trainer</c> is: a framework-dependent <c>moe-trainer.dll</c> run through the <c>dotnet</c> host, or a
/// native executable (an apphost or a published single file). Builds the start info of any of its commands.
/// </summary>
public sealed record TrainerExecutable
{
    private TrainerExecutable(string fileName, IReadOnlyList<string> leadingArguments)
    {
        FileName = fileName;
        LeadingArguments = leadingArguments;
    }

    /// <summary>The program actually started (the dotnet host or the executable).</summary>
    public string FileName { get; }

    /// <summary>Arguments placed before the command's own (the dll path when run through dotnet).</summary>
    public IReadOnlyList<string> LeadingArguments { get; }

    /// <summary>
    /// Runs <paramref name="dllPath"/> with <paramref name="dotnetHost"/>, by default the host that runs this process
    /// (DOTNET_HOST_PATH, set by the SDK and by test runners), else <c>dotnet</c> from PATH.
    /// </summary>
    public static TrainerExecutable FromDll(string dllPath, string? dotnetHost = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dllPath);
        var host = dotnetHost ?? Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        return new TrainerExecutable(host, [Path.GetFullPath(dllPath)]);
    }

    public static TrainerExecutable FromExecutable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new TrainerExecutable(path, []);
    }

    /// <summary>A .dll path runs through dotnet; anything else is started directly.</summary>
    public static TrainerExecutable FromPath(string path) =>
        path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? FromDll(path) : FromExecutable(path);

    /// <summary>
    /// Start info for a supervised child: stdout and stderr redirected (UTF-8), and stdin a pipe the caller keeps open
    /// and never writes: the child (Moe.Supervision) exits when it closes, i.e. when this process dies, however it dies.
    /// With <paramref name="leaseFolder"/> the child leases that folder for its life (a restarted supervisor finds it there).
    /// </summary>
    public ProcessStartInfo CreateStartInfo(IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null, string? leaseFolder = null)
    {
        var info = new ProcessStartInfo(FileName)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var a in LeadingArguments) info.ArgumentList.Add(a);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        foreach (var (name, value) in SupervisorLink.ChildEnvironment(leaseFolder)) info.Environment[name] = value;
        if (environment is not null)
            foreach (var (name, value) in environment) info.Environment[name] = value;
        return info;
    }

    public override string ToString() => string.Join(' ', [FileName, .. LeadingArguments]);
}
