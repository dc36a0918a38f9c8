using System.Diagnostics;
using System.Text;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>A <c>moe-silo</c> process (copied beside the tests), its output kept for failure messages.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SiloProcess(string workerId, Process process)
    {
        WorkerId = workerId;
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string WorkerId { get; }
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;

    public static SiloProcess StartWorker(string workerId, string redis, string dataDirectory, string artifactsDirectory) =>
        Start(workerId, ["--roles", "worker", "--redis", redis, "--data-dir", dataDirectory, "--artifacts-dir", artifactsDirectory,
            "--worker-id", workerId, "--cluster-id", "e2e"]);

    /// <summary>
    /// The embedded default (both roles, SQLite and local artifacts under <paramref name="dataDirectory"/>, the worker's id
    /// derived from it): <c>moe-silo [launch ...]</c> with <paramref name="arguments"/> first.
    /// </summary>
    public static SiloProcess StartEmbedded(string dataDirectory, params string[] arguments) =>
        Start("embedded", [.. arguments, "--data-dir", dataDirectory]);

    private static SiloProcess Start(string name, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "moe-silo.dll") }.Concat(arguments).Concat(
                 [
                     "--silo-port", FreePort.Next().ToString(), "--gateway-port", FreePort.Next().ToString(),
                     "Worker:HeartbeatInterval=00:00:00.500", "Worker:MetricFlushInterval=00:00:00.500",
                     "Worker:StopGrace=00:00:30", "Logging:LogLevel:Default=Warning", "Logging:LogLevel:Moe=Information",
                 ]))
            info.ArgumentList.Add(argument);
        return new SiloProcess(name, Process.Start(info)!);
    }

    /// <summary>kill -9: the silo vanishes without a word (its heartbeats just stop).</summary>
    public void KillHard() => Signal("-9");

    /// <summary>SIGTERM: the silo shuts down gracefully.</summary>
    public void Terminate() => Signal("-TERM");

    /// <summary>Whether it exited within <paramref name="timeout"/>.</summary>
    public Task<bool> WaitForExitAsync(TimeSpan timeout) =>
        _process.WaitForExitAsync().WaitAsync(timeout).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default);

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString()]);
        kill.WaitForExit();
    }

    public string Output()
    {
        lock (_output) return _output.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
