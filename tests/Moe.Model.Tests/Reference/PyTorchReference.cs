using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Moe.Model.Tests.Reference;

/// <summary>
/// Runs bench/reference/moe_reference.py (the independent plain-PyTorch implementation) as a child process.
/// The interpreter is <c>$MOE_REFERENCE_PYTHON</c>, else Debian's <c>/usr/bin/python3</c>, which <c>./platform setup</c>
/// gives torch through the <c>python3-torch</c> package (a pyenv python first on PATH usually has no torch).
/// </summary>
public static class PyTorchReference
{
    public const string PythonVariable = "MOE_REFERENCE_PYTHON";
    public const string SkipVariable = "MOE_SKIP_REFERENCE";
    public const string DefaultPython = "/usr/bin/python3";

    public static string Python =>
        Environment.GetEnvironmentVariable(PythonVariable) is { Length: > 0 } p ? p : DefaultPython;

    public static string Script => Path.Combine(RepoPaths.Root, "bench", "reference", "moe_reference.py");

    /// <summary>What the child process did: exit code (null when it was killed at the timeout), output, wall time.</summary>
    public sealed record Outcome(int? ExitCode, string Output, TimeSpan Elapsed)
    {
        public bool TimedOut => ExitCode is null;

        public override string ToString() =>
            $"{(TimedOut ? "timed out" : $"exit code {ExitCode}")} after {Elapsed.TotalSeconds:F1}s; output:\n{Output}";
    }

    static readonly Lazy<(string? Version, string? Problem)> Torch = new(ProbeTorch);

    /// <summary>
    /// Fails the calling test, naming the fix, when the interpreter cannot import torch; with MOE_SKIP_REFERENCE=1 it
    /// skips it (dynamically) instead. Returns torch's version.
    /// </summary>
    public static string RequireTorch()
    {
        var (version, problem) = Torch.Value;
        if (problem is null) return version!;
        var reason = $"the PyTorch reference check cannot run: {problem}. Run ./platform setup (it installs Debian's python3-torch "
            + $"for {DefaultPython}), or set {PythonVariable} to a python that has torch";
        if (Environment.GetEnvironmentVariable(SkipVariable) == "1") Assert.Skip($"{reason} ({SkipVariable}=1 skips instead of failing)");
        Assert.Fail($"{reason}; {SkipVariable}=1 turns this failure into a skip");
        throw new UnreachableException();
    }

    /// <summary><c>python moe_reference.py check dir</c>: exit 0 on PASS, 1 on FAIL.</summary>
    public static Outcome Check(string exportDir, TimeSpan timeout) => Run([Script, "check", exportDir], timeout);

    static (string? Version, string? Problem) ProbeTorch()
    {
        var probe = Run(["-c", "import torch; print(torch.__version__)"], TimeSpan.FromSeconds(120));
        if (probe.ExitCode == 0) return (probe.Output.Trim(), null);
        var detail = probe.Output.Trim().Split('\n').LastOrDefault() ?? "";
        return (null, $"'{Python} -c \"import torch\"' {(probe.TimedOut ? "timed out" : $"failed ({detail.Trim()})")}");
    }

    /// <summary>Runs the interpreter with the arguments, stdout and stderr merged, killing it (and its children) at the timeout.</summary>
    static Outcome Run(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["PYTHONUNBUFFERED"] = "1";

        var output = new StringBuilder();
        void Append(object _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (output) output.Append(e.Data).Append('\n');
        }

        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return new Outcome(127, $"cannot start '{Python}': {e.Message}", clock.Elapsed);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit();
            lock (output) return new Outcome(null, output.ToString(), clock.Elapsed);
        }
        process.WaitForExit(); // drains the redirected streams
        lock (output) return new Outcome(process.ExitCode, output.ToString(), clock.Elapsed);
    }
}
