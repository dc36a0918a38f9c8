using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.WebBench;

/// <summary>What the report says about the machine, and the command-line value formats.</summary>
public static class Machine
{
    public static string CpuModel() => File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
        : RuntimeInformation.ProcessArchitecture.ToString();

    public static string MemoryGiB()
    {
        var line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) : null;
        return line is null ? "?" : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024).ToString("0.0", CultureInfo.InvariantCulture);
    }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    /// <summary>"10s", "500ms", "2m", or plain seconds.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        double Number(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        return text.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(Number(text[..^2]))
            : text.EndsWith('s') ? TimeSpan.FromSeconds(Number(text[..^1]))
            : text.EndsWith('m') ? TimeSpan.FromMinutes(Number(text[..^1]))
            : TimeSpan.FromSeconds(Number(text));
    }

    public static string Format(TimeSpan t) => t.TotalSeconds >= 60 && t.TotalSeconds % 60 == 0 ? $"{t.TotalMinutes:0}m"
        : t.TotalSeconds >= 1 ? $"{t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s" : $"{t.TotalMilliseconds:0}ms";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Resident memory of a process in MiB (/proc/PID/status VmRSS), or NaN.</summary>
    public static double RssMiB(int pid)
    {
        string status = $"/proc/{pid}/status";
        var line = File.Exists(status) ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)) : null;
        return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}

/// <summary>The app's JSON (snake_case) over HttpClient, failing with the response body when the status is not the expected one.</summary>
public static class Api
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>A client for one base address: no redirects followed, up to <paramref name="connections"/> connections at once.</summary>
    public static HttpClient Client(Uri baseAddress, int connections = 16, CookieContainer? cookies = null, string? bearer = null)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer(),
            MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.None,
        };
        var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (bearer is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return client;
    }

    public static async Task<JsonNode> GetAsync(HttpClient client, string url, CancellationToken ct = default) =>
        await ExpectAsync(await client.GetAsync(url, ct), HttpStatusCode.OK, $"GET {url}", ct);

    public static async Task<JsonNode> PostAsync(HttpClient client, string url, object body, HttpStatusCode expected, CancellationToken ct = default) =>
        await ExpectAsync(await client.PostAsJsonAsync(url, body, Json, ct), expected, $"POST {url}", ct);

    public static async Task<JsonNode> ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken ct = default)
    {
        using (response)
        {
            string text = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode != expected)
                throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {response.StatusCode} (expected {(int)expected}): {text[..Math.Min(text.Length, 1000)]}");
            return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
        }
    }

    /// <summary>Polls until <paramref name="check"/> returns true; false when the time is up.</summary>
    public static async Task<bool> PollAsync(Func<Task<bool>> check, TimeSpan timeout, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await check()) return true;
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(250));
        }
    }
}
