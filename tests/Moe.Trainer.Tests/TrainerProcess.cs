using System.Diagnostics;

namespace Moe.Trainer.Tests;

/// <summary>Runs <c>moe-trainer</c> (the built dll beside the tests) as a child process in a working folder.</summary>
public sealed record TrainerResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

public static class TrainerProcess
{
    static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "moe-trainer.dll");

    public static Process Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
    }

    public static TrainerResult Run(string workingDirectory, params string[] args)
    {
        using var process = Start(workingDirectory, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"moe-trainer {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new TrainerResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
