using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Moe.Platform.Tests.Metadata;

/// <summary>
/// A throwaway PostgreSQL cluster from Debian's server binaries: initdb in a temp dir, started on a free port with
/// its unix socket in that dir, durability off (tests need speed, not crash safety), stopped and deleted at dispose.
/// PostgreSQL refuses to run as root, so under root (CI) the server runs as the 'postgres' user via runuser.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    const string SetupHint = "run ./platform setup (it installs Debian's 'postgresql' package)";
    string _root = "";
    string _binaries = "";
    string? _runAs;
    int _port;

    public async ValueTask InitializeAsync()
    {
        _binaries = FindBinaries() ?? throw new InvalidOperationException(
            $"PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb and pg_ctl) are missing: {SetupHint}");
        _root = Directory.CreateTempSubdirectory("moe-pg-").FullName;
        if (Environment.IsPrivilegedProcess)
        {
            _runAs = "postgres";
            await RunAsync("/usr/bin/chown", [_runAs, _root], asServer: false);
        }
        await RunAsync(Path.Combine(_binaries, "initdb"),
            ["-D", DataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
        // A free port can be taken between probing and binding: try a few.
        for (int attempt = 1; ; attempt++)
        {
            _port = FreePort();
            try
            {
                await RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"),
                    "-w", "-t", "30", "-o", $"-p {_port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off " +
                    "-c synchronous_commit=off -c full_page_writes=off", "start"]);
                return;
            }
            catch (InvalidOperationException) when (attempt < 3) { }
        }
    }

    string DataDirectory => Path.Combine(_root, "data");

    /// <summary>Connection string of the server's maintenance database, over the unix socket.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = _root, Port = _port, Username = "postgres", Database = database }.ToString();

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        string name = "test_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_port != 0)
        {
            try { await RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]); }
            catch (InvalidOperationException) { } // already gone: still delete the files
        }
        if (_root != "" && Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    static string? FindBinaries() => Directory.Exists("/usr/lib/postgresql")
        ? Directory.GetDirectories("/usr/lib/postgresql")
            .Select(version => Path.Combine(version, "bin"))
            .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
            .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out int v) ? v : 0)
            .FirstOrDefault()
        : null;

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a server tool (as the postgres user when we are root) and fails with its output.</summary>
    async Task RunAsync(string program, string[] arguments, bool asServer = true)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true };
        if (asServer && _runAs != null)
        {
            start.FileName = "runuser";
            foreach (string a in (string[])["-u", _runAs, "--", program]) start.ArgumentList.Add(a);
        }
        else start.FileName = program;
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["LC_ALL"] = "C";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            string log = Path.Combine(_root, "server.log");
            string serverLog = File.Exists(log) ? File.ReadAllText(log) : "";
            throw new InvalidOperationException(
                $"{Path.GetFileName(program)} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}\n{serverLog}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
