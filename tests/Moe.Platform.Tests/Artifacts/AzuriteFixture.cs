using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Moe.Platform.Tests.Artifacts;

/// <summary>
/// A real Azurite blob service (tests/azurite, installed by <c>./platform setup</c>) on a free port for the lifetime of
/// a test class: in memory, silent, no telemetry, and with the API version check off because the SDK is newer than the
/// emulator. The process tree is killed on dispose.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    // Azurite's fixed development account (public, documented by Microsoft; not a secret).
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly StringBuilder _output = new();
    private readonly string _workspace = Directory.CreateTempSubdirectory("moe-azurite-").FullName;
    private Process? _process;

    public static string Executable => Path.Combine(RepoPaths.Root, "tests", "azurite", "node_modules", ".bin", "azurite-blob");

    /// <summary>The connection string of the devstoreaccount1 account on this instance.</summary>
    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"Azurite is not installed ({Executable} is missing): run ./platform setup");
        // The free port is found by binding port 0 and releasing it; another process may take it meanwhile, so retry.
        for (int attempt = 1; ; attempt++)
        {
            int port = FreePort();
            _process = Start(port);
            if (await WaitUntilListeningAsync(port))
            {
                ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
                                   $"AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";
                return;
            }
            await StopAsync();
            if (attempt == 3)
                throw new InvalidOperationException($"Azurite did not start on 127.0.0.1 (last port {port}):\n{Output()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(_workspace, recursive: true); } catch (IOException) { }
    }

    private Process Start(int port)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _workspace, // in memory, but anything Azurite still writes stays out of the repository
        };
        foreach (var arg in new[]
                 {
                     "--blobHost", "127.0.0.1", "--blobPort", port.ToString(), "--inMemoryPersistence",
                     "--silent", "--skipApiVersionCheck", "--disableTelemetry",
                 })
            info.ArgumentList.Add(arg);
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task<bool> WaitUntilListeningAsync(int port)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) return false;
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        return false;
    }

    private async Task StopAsync()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException) { } // exited between the check and the kill
        _process.Dispose();
        _process = null;
    }

    private void Record(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private string Output()
    {
        lock (_output) return _output.ToString();
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
