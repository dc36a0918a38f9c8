using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Moe.Platform.Scheduling;
using Moe.Platform.Testing;
using Moe.Platform.Storage.Metadata;
using Npgsql;

namespace Moe.Web.Tests;

/// <summary>
/// The real moe-web app (co-hosted silo with both roles, a CPU worker running the real moe-trainer) in this process, on a
/// fresh data directory, free Orleans ports and short worker and scheduler timings. Signs the admin in once; tests make
/// their own users, API keys, projects and experiments so they are independent of each other.
/// </summary>
public class WebApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string AdminPassword = "admin-password-for-tests";
    public const int MaxRequestBytes = 64 * 1024;

    readonly int _siloPort = FreePort(), _gatewayPort = FreePort();
    readonly string _clusterId = $"moe-web-tests-{Guid.NewGuid():N}"[..32];
    readonly SemaphoreSlim _sharedDatasetLock = new(1, 1);
    string? _sharedDataset;

    public string Root { get; } = Directory.CreateTempSubdirectory("moe-web-tests-").FullName;
    public string DataDirectory => Path.Combine(Root, "data");
    public string CorporaDirectory => Path.Combine(Root, "corpora");
    public string DatabasePath => Path.Combine(DataDirectory, "platform.db");

    /// <summary>A PostgreSQL connection string for the metadata (the subclass on PostgreSQL); null keeps SQLite.</summary>
    protected virtual string? Postgres => null;

    /// <summary>Where Kestrel listens (a free port on the loopback).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The admin's cookie client (signed in at start).</summary>
    public HttpClient Admin { get; private set; } = null!;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // UseSetting reaches the app as command-line arguments, so AddPlatformWeb sees them while it builds.
        var settings = new Dictionary<string, string?>
        {
            ["Platform:DataDirectory"] = DataDirectory,
            ["Platform:SiloPort"] = _siloPort.ToString(),
            ["Platform:GatewayPort"] = _gatewayPort.ToString(),
            ["Platform:ClusterId"] = _clusterId,
            ["Web:AdminPassword"] = AdminPassword,
            ["Web:CorporaDirectory"] = CorporaDirectory,
            ["Web:MaxRequestBytes"] = MaxRequestBytes.ToString(),
            ["Worker:WorkerId"] = "web-tests",
            ["Worker:TrainerPath"] = Path.Combine(AppContext.BaseDirectory, "moe-trainer.dll"),
            ["Worker:HeartbeatInterval"] = "00:00:00.200",
            ["Worker:MetricFlushInterval"] = "00:00:00.300",
            ["Worker:StopGrace"] = "00:00:30",
            ["Worker:ProbeDevices"] = "false", // CPU only: no `moe-trainer devices` at start
            ["Evaluations:RetryDelays"] = "0,0", // two immediate retries: a failing evaluation ends in seconds
            ["Logging:LogLevel:Default"] = "Warning",
            ["ConnectionStrings:Postgres"] = Postgres,
        };
        // As deployed (the factory's default is Development, which validates the container and throws on bad requests).
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings)
            if (value is not null) builder.UseSetting(key, value);
        builder.ConfigureTestServices(services =>
        {
            // Not bound from configuration: the scheduler plans every 200 ms rather than every second.
            services.Configure<SchedulerOptions>(o =>
            {
                o.PassInterval = TimeSpan.FromMilliseconds(200);
                o.HeartbeatTimeout = TimeSpan.FromSeconds(10);
            });
            services.AddSingleton<ILoggerProvider, ServerErrors>();
        });
    }

    public virtual async ValueTask InitializeAsync()
    {
        // Kestrel rather than the in-memory TestServer: the request size limits are the server's (TestServer has none).
        UseKestrel(0);
        StartServer();
        BaseAddress = new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        Directory.CreateDirectory(CorporaDirectory);
        await File.WriteAllLinesAsync(Path.Combine(CorporaDirectory, "brown.jsonl"), Corpus.Documents(seed: 11, count: 200));
        Admin = CookieClient();
        await SignInAsync(Admin, "admin", AdminPassword);
        // The worker has joined the scheduler once the cluster lists it.
        await Poll.UntilAsync(async () =>
        {
            var cluster = await Admin.GetJsonAsync("/api/v1/cluster");
            return cluster["workers"]!.AsArray().Count == 1 ? true : (bool?)null;
        }, TimeSpan.FromMinutes(1), "the worker never joined");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        GC.SuppressFinalize(this);
    }

    /// <summary>A client that keeps cookies and does not follow redirects.</summary>
    /// <remarks>Made here rather than by CreateClient: on Kestrel, the factory's client follows redirects whatever its options say.</remarks>
    public HttpClient CookieClient() => Client(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new() });

    /// <summary>A client with no credentials that does not follow redirects.</summary>
    public HttpClient Anonymous() => Client(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });

    HttpClient Client(HttpMessageHandler handler) => new(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(1) };

    /// <summary>A client that sends <c>Authorization: Bearer key</c>.</summary>
    public HttpClient BearerClient(string key)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public PlatformDb NewDb() => new(PlatformDbOptions.Create(Postgres, DatabasePath));

    /// <summary>Signs in as a browser does: GET /login (antiforgery cookie + the form's token), then POST the form.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string user, string password, bool expectSuccess = true)
    {
        var response = await PortalSignIn.PostAsync(client, user, password);
        if (expectSuccess)
        {
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/", response.Headers.Location?.OriginalString);
        }
        return response;
    }

    /// <summary>The antiforgery token of the form on a server-rendered page (the client keeps the matching cookie).</summary>
    public static Task<string> AntiforgeryTokenAsync(HttpClient client, string page) => PortalSignIn.AntiforgeryTokenAsync(client, page);

    /// <summary>
    /// A new user (created by the admin) and an API key made by that user (signed in with a cookie); returns a Bearer
    /// client and the user's name.
    /// </summary>
    public async Task<TestUser> NewUserAsync(string stem, bool isAdmin = false)
    {
        var name = Names.Unique(stem);
        var password = $"pw-{Guid.NewGuid():N}";
        var created = await Admin.PostJsonAsync("/api/v1/users", new { user_name = name, password, display_name = stem, is_admin = isAdmin });
        await created.ExpectAsync(HttpStatusCode.Created);
        var cookie = CookieClient();
        await SignInAsync(cookie, name, password);
        var key = await (await cookie.PostJsonAsync("/api/v1/me/api-keys", new { name = "tests" })).ExpectJsonAsync(HttpStatusCode.Created);
        return new TestUser(name, password, key["key"]!.GetValue<string>(), cookie, BearerClient(key["key"]!.GetValue<string>()));
    }

    /// <summary>A new project (the admin creates it) with the given users in the given roles.</summary>
    public async Task<string> NewProjectAsync(string stem, params (TestUser User, string Role)[] members)
    {
        var id = Names.Unique(stem);
        await (await Admin.PostJsonAsync("/api/v1/projects", new { id, name = $"Project {stem}" })).ExpectAsync(HttpStatusCode.Created);
        foreach (var (user, role) in members)
            await (await Admin.PutJsonAsync($"/api/v1/projects/{id}/members/{user.Name}", new { role })).ExpectAsync(HttpStatusCode.OK);
        return id;
    }

    /// <summary>A new experiment in the project (the admin creates it); returns its id.</summary>
    public async Task<string> NewExperimentAsync(string project, string stem)
    {
        var created = await (await Admin.PostJsonAsync("/api/v1/experiments", new { project, name = Names.Unique(stem) }))
            .ExpectJsonAsync(HttpStatusCode.Created);
        return created["id"]!.GetValue<string>();
    }

    /// <summary>
    /// A dataset uploaded once per app (a few hundred short documents, a 300-token BPE) and Ready, for the tests that
    /// need runs but do not test datasets.
    /// </summary>
    public async Task<string> SharedDatasetAsync()
    {
        await _sharedDatasetLock.WaitAsync();
        try
        {
            return _sharedDataset ??= await UploadDatasetAsync(Admin, Names.Unique("shared"), waitReady: true);
        }
        finally
        {
            _sharedDatasetLock.Release();
        }
    }

    /// <summary>Creates a dataset, uploads the corpus as version 1 (vocab 300, validation 0.1), optionally waits until it is ready.</summary>
    public static async Task<string> UploadDatasetAsync(HttpClient client, string id, bool waitReady)
    {
        await (await client.PostJsonAsync("/api/v1/datasets", new { id, description = "tiny corpus" })).ExpectAsync(HttpStatusCode.Created);
        using var form = Corpus.Upload(("corpus.jsonl", Corpus.Documents(seed: 5, count: 300)));
        form.Add(new StringContent("300"), "tokenizer_vocab");
        form.Add(new StringContent("0.1"), "validation_fraction");
        await (await client.PostAsync($"/api/v1/datasets/{id}/versions", form)).ExpectAsync(HttpStatusCode.Accepted);
        if (waitReady) await WaitForDatasetVersionAsync(client, id, 1);
        return id;
    }

    /// <summary>Polls the dataset until the version is ready; fails with its error if it failed.</summary>
    public static Task<JsonNode> WaitForDatasetVersionAsync(HttpClient client, string id, int version) => Poll.UntilAsync(async () =>
    {
        var dataset = await client.GetJsonAsync($"/api/v1/datasets/{id}");
        var v = dataset["versions"]!.AsArray().FirstOrDefault(x => x!["version"]!.GetValue<int>() == version)
            ?? throw new InvalidOperationException($"dataset {id} has no version {version}: {dataset}");
        return v["state"]!.GetValue<string>() switch
        {
            "preparing" => null,
            "ready" => v,
            var state => throw new InvalidOperationException($"dataset {id} version {version} is {state}: {v["error"]}"),
        };
    }, TimeSpan.FromMinutes(2), $"dataset {id} version {version} is still preparing");

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A user of the tests: their cookie client (signed in) and a Bearer client with their API key.</summary>
public sealed record TestUser(string Name, string Password, string ApiKey, HttpClient Cookie, HttpClient Api);

/// <summary>One app for the tests of a collection on SQLite.</summary>
[CollectionDefinition(Name)]
public sealed class WebAppCollection : ICollectionFixture<WebApp>
{
    public const string Name = "web-app";
}
