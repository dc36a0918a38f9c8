using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Moe.Platform.Testing;

/// <summary>
/// A throwaway PostgreSQL server for tests and benchmarks (compiled into each by a link), from Debian's server binaries: initdb in a temp dir, started on a free port with its unix socket in that dir,
/// stopped and deleted at dispose. Durable by default (fsync and synchronous_commit on, as in production, and as
/// SQLite's WAL commits are); <c>fast</c> turns durability off like the test fixture. Under root the server runs as
/// the 'postgres' user via runuser (PostgreSQL refuses to run as root).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    string _root = "";
    string _binaries = "";
    string? _runAs;
    int _port;

    public string Version { get; private set; } = "";

    public static async Task<PostgresServer> StartAsync(bool fast)
    {
        var server = new PostgresServer();
        try
        {
            await server.InitializeAsync(fast);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    async Task InitializeAsync(bool fast)
    {
        _binaries = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb and pg_ctl) are missing: run ./platform setup");
        _root = Directory.CreateTempSubdirectory("moe-pg-").FullName;
        if (Environment.IsPrivilegedProcess)
        {
            _runAs = "postgres";
            await RunAsync("/usr/bin/chown", [_runAs, _root], asServer: false);
        }
        await RunAsync(Path.Combine(_binaries, "initdb"),
            ["-D", DataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"]);
        string durability = fast ? " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" : "";
        for (int attempt = 1; ; attempt++)
        {
            _port = FreePort(); // may be taken between probing and binding: try a few
            try
            {
                await RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"),
                    "-w", "-t", "30", "-o", $"-p {_port} -k {_root} -c listen_addresses=127.0.0.1 -c max_connections=200{durability}", "start"]);
                break;
            }
            catch (InvalidOperationException) when (attempt < 3) { }
        }
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT current_setting('server_version') || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', shared_buffers=' || current_setting('shared_buffers')",
            connection);
        Version = (string)(await command.ExecuteScalarAsync())!;
    }

    string DataDirectory => Path.Combine(_root, "data");

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = _root, Port = _port, Username = "postgres", Database = database, MaxPoolSize = 100 }.ToString();

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        string name = $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
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
