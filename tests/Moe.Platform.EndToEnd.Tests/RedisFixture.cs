using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// A real redis-server (Debian's, installed by <c>./platform setup</c>) on a free port for a test class: no persistence,
/// killed on dispose. Orleans' Redis clustering keeps the membership table in it.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private Process? _process;

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var server = new[] { "/usr/bin/redis-server", "/usr/sbin/redis-server" }.FirstOrDefault(File.Exists)
                     ?? throw new InvalidOperationException("redis-server is not installed: run ./platform setup");
        int port = FreePort.Next();
        _process = Process.Start(new ProcessStartInfo(server,
            ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(100);
            }
        }
        ConnectionString = $"127.0.0.1:{port}";
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true);
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public static class FreePort
{
    /// <summary>A port free right now (bind to 0, read, release); a racing process may take it, which tests then see.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
