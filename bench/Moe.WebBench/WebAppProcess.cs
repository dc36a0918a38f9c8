using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Testing;

namespace Moe.WebBench;

/// <summary>
/// The real moe-web (<c>dotnet moe-web.dll</c>) as a child process, as <c>./platform run</c> starts it: the embedded
/// silo with both roles and a local CPU worker, on a fresh temp data directory (SQLite) or a PostgreSQL database, free
/// ports for Kestrel and Orleans, warnings-only logging (counted; a benchmark with server warnings is suspect). Ready
/// once /readyz answers 200. Stopped with SIGTERM (then killed) and its folder deleted at dispose.
/// </summary>
public sealed partial class WebAppProcess : IAsyncDisposable
{
    public const string AdminUser = "admin";

    readonly Process _process;
    readonly List<string> _tail = [];
    readonly Dictionary<string, int> _levels = [];

    public string AdminPassword { get; }
    public Uri BaseAddress { get; }
    public string Root { get; }
    public string? Postgres { get; }
    public string DataDirectory => Path.Combine(Root, "data");
    public string CorporaDirectory => Path.Combine(Root, "corpora");
    public int ProcessId => _process.Id;

    /// <summary>Server log lines at Warning and above (warn:, fail:, crit:), counted by level and category.</summary>
    public string LogSummary
    {
        get
        {
            lock (_tail)
            {
                if (_levels.Count == 0) return "none";
                return string.Join("; ", _levels.OrderByDescending(l => l.Value).Select(l => $"{l.Value} x {l.Key}"));
            }
        }
    }

    /// <summary>CPU time the server process used so far (user + system, all threads).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public double RssMiB => Machine.RssMiB(_process.Id);

    WebAppProcess(Process process, string root, Uri baseAddress, string password, string? postgres) =>
        (_process, Root, BaseAddress, AdminPassword, Postgres) = (process, root, baseAddress, password, postgres);

    /// <summary>A context on the app's own metadata database (the same file or PostgreSQL database the app uses).</summary>
    public PlatformDb NewDb() => new(PlatformDbOptions.Create(Postgres, Path.Combine(DataDirectory, "platform.db")));

    /// <summary>The moe-web.dll built with this benchmark (recorded at build time), unless <paramref name="overridePath"/> says otherwise.</summary>
    public static string FindApp(string? overridePath)
    {
        string? path = overridePath ?? typeof(WebAppProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "MoeWebDll")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
            throw new InvalidOperationException($"moe-web.dll not found at '{path}': build the benchmark (it builds moe-web) or pass --app PATH");
        return path;
    }

    /// <summary>Whether the app runs with the server GC (moe-web.runtimeconfig.json), for the report.</summary>
    public static string GcMode(string appDll)
    {
        string config = Path.ChangeExtension(appDll, ".runtimeconfig.json");
        if (!File.Exists(config)) return "GC mode unknown";
        var server = JsonNode.Parse(File.ReadAllText(config))?["runtimeOptions"]?["configProperties"]?["System.GC.Server"]?.GetValue<bool>();
        return server == true ? "server GC" : "workstation GC";
    }

    public static async Task<WebAppProcess> StartAsync(string appDll, string? postgres, TimeSpan timeout)
    {
        string root = Directory.CreateTempSubdirectory("moe-web-bench-").FullName;
        int http = Machine.FreePort(), silo = Machine.FreePort(), gateway = Machine.FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{http}/");
        string password = "bench-" + Guid.NewGuid().ToString("N")[..20];
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(appDll);
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = baseAddress.ToString().TrimEnd('/'),
            ["Platform:DataDirectory"] = Path.Combine(root, "data"),
            ["Platform:SiloPort"] = silo.ToString(),
            ["Platform:GatewayPort"] = gateway.ToString(),
            ["Platform:ClusterId"] = $"moe-web-bench-{Guid.NewGuid():N}"[..28],
            ["Web:AdminUser"] = AdminUser,
            ["Web:AdminPassword"] = password,
            ["Web:CorporaDirectory"] = Path.Combine(root, "corpora"),
            ["Worker:WorkerId"] = "web-bench",
            ["Worker:ProbeDevices"] = "false", // CPU only: no `moe-trainer devices` at start
            ["Logging:LogLevel:Default"] = "Warning",
            ["ConnectionStrings:Postgres"] = postgres,
        };
        foreach (var (key, value) in settings)
            if (value is not null) start.ArgumentList.Add($"--{key}={value}");
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MOE_", StringComparison.Ordinal)).ToList()) start.Environment.Remove(key);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        Directory.CreateDirectory(Path.Combine(root, "corpora"));

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start moe-web");
        var app = new WebAppProcess(process, root, baseAddress, password, postgres);
        process.OutputDataReceived += (_, e) => app.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => app.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = Api.Client(baseAddress);
            client.Timeout = TimeSpan.FromSeconds(10);
            bool ready = await Api.PollAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"moe-web exited with {process.ExitCode}:\n{app.Tail(40)}");
                try { return (await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK; }
                catch (HttpRequestException) { return false; }
                catch (TaskCanceledException) { return false; }
            }, timeout, TimeSpan.FromMilliseconds(200));
            if (!ready) throw new TimeoutException($"moe-web was not ready within {timeout.TotalSeconds:0} s:\n{app.Tail(40)}");
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Signs the admin in as a browser does (GET /login for the antiforgery cookie and the form's token, POST the form).</summary>
    public async Task<(HttpClient Client, CookieContainer Cookies)> SignInAsync()
    {
        var cookies = new CookieContainer();
        var client = Api.Client(BaseAddress, cookies: cookies);
        using var response = await PortalSignIn.PostAsync(client, AdminUser, AdminPassword);
        if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location?.OriginalString != "/")
            throw new InvalidOperationException($"sign-in failed: {(int)response.StatusCode} to {response.Headers.Location}");
        return (client, cookies);
    }

    /// <summary>"12:00:00 warn: Category[123] message": the level and the category.</summary>
    [GeneratedRegex(@"\b(warn|fail|crit): ([^\[\s]+)\[")]
    private static partial Regex LogLevelPattern();

    public string Tail(int lines)
    {
        lock (_tail) return string.Join('\n', _tail.TakeLast(lines));
    }

    void OnLine(string? line)
    {
        if (line is null) return;
        lock (_tail)
        {
            if (LogLevelPattern().Match(line) is { Success: true } m)
            {
                string key = $"{m.Groups[1].Value} {m.Groups[2].Value}";
                _levels[key] = _levels.GetValueOrDefault(key) + 1;
            }
            _tail.Add(line);
            if (_tail.Count > 400) _tail.RemoveRange(0, 200);
        }
    }

    /// <summary>The dotnet host running this benchmark (under `dotnet run` or `dotnet Moe.WebBench.dll`), else the one on PATH.</summary>
    static string DotnetHost() =>
        Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            if (OperatingSystem.IsLinux()) _ = kill(_process.Id, 15); // SIGTERM: the host stops the silo and Kestrel
            using var graceful = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _process.WaitForExitAsync(graceful.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
        }
        _process.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Npgsql.NpgsqlConnection.ClearAllPools();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
