using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Moe.Platform.Grains.Hosting;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Components;
using Moe.Web.Evaluations;
using Moe.Web.Hosting;
using Moe.Web.Portal;
using Moe.Web.Queries;
using Moe.Web.Runs;
using Moe.Web.Security;
using MudBlazor.Services;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Scalar.AspNetCore;

namespace Moe.Web;

/// <summary>Wires the web app: the platform (co-hosted silo or cluster client), sign-in, the API, health and telemetry.</summary>
public static class Extensions
{
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    const string PlatformScheme = "Platform";

    public static WebApplicationBuilder AddPlatformWeb(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var web = configuration.GetSection(WebOptions.Section).Get<WebOptions>() ?? new WebOptions();
        web.Validate();
        var platform = configuration.ReadPlatformSiloOptions();
        var services = builder.Services;
        services.Configure<WebOptions>(configuration.GetSection(WebOptions.Section));
        services.AddSingleton(platform);
        services.AddSingleton(TimeProvider.System);
        // Stopping takes the evaluation job server (it cancels running trainer jobs), then the silo, whose worker asks each
        // running trainer to checkpoint (Worker:StopGrace): more than the host's default 30 s in all.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(90));

        ConfigureLogging(builder.Logging, web);
        if (web.IsClient) builder.AddPlatformClient(platform);
        else builder.AddPlatformSilo(platform);
        // After the migrator that AddPlatformSilo/AddPlatformClient registered: the users table exists by then.
        services.AddSingleton<UserAccounts>();
        services.AddHostedService<AdminBootstrap>();

        services.AddHttpContextAccessor();
        services.AddScoped(sp => new ProjectAccess(sp.GetRequiredService<PlatformDb>(),
            sp.GetRequiredService<IHttpContextAccessor>().HttpContext?.User ?? throw new InvalidOperationException("no request")));
        services.AddSingleton<RunPresets>();
        services.AddSingleton<RunCommands>();
        if (web.Demo) services.AddHostedService<DemoLauncher>();
        builder.AddPlatformEvaluations(web);

        services.AddAuthentication(o => (o.DefaultScheme, o.DefaultChallengeScheme) = (PlatformScheme, PlatformScheme))
            .AddPolicyScheme(PlatformScheme, "Cookie or API key", o => o.ForwardDefaultSelector = context =>
                ApiKeys.FromHeaders(context.Request.Headers) is not null ? ApiKeys.Scheme : CookieScheme)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "moe.auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax; // cross-site POSTs carry no cookie
                o.LoginPath = "/login";
                o.LogoutPath = "/logout";
                o.ReturnUrlParameter = "return_url";
                o.ExpireTimeSpan = TimeSpan.FromDays(7);
                o.SlidingExpiration = true;
                // The API answers 401/403; only pages redirect to the sign-in form.
                o.Events.OnRedirectToLogin = context => ApiOrRedirect(context, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = context => ApiOrRedirect(context, StatusCodes.Status403Forbidden);
                // A disabled (or deleted) user's cookie stops working at once, not when it expires.
                o.Events.OnValidatePrincipal = async context =>
                {
                    var accounts = context.HttpContext.RequestServices.GetRequiredService<UserAccounts>();
                    if (context.Principal is not { } user || !await accounts.IsEnabledAsync(user.UserId(), context.HttpContext.RequestAborted))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieScheme);
                    }
                };
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeys.Scheme, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(PlatformClaims.AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(PlatformClaims.Admin, "true"));

        services.ConfigureHttpJsonOptions(o => ConfigureJson(o.SerializerOptions));
        services.AddProblemDetails(o => o.CustomizeProblemDetails = RequestEncoding.NameContentType);
        services.AddExceptionHandler<PlatformProblems>();
        // Unparsable bodies and query values reach PlatformProblems (which names the field) instead of a bare 400.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "MoE platform API";
                document.Info.Description = "Projects, experiments, datasets, runs, metrics, checkpoints, models and evaluations. "
                    + "Authenticate with an API key (Authorization: Bearer moe_...) created in the portal or at POST /api/v1/me/api-keys.";
                return Task.CompletedTask;
            });
            o.AddSchemaTransformer((schema, context, _) =>
            {
                StrictJsonSchemas.Describe(schema, context.JsonTypeInfo.Type);
                return Task.CompletedTask;
            });
        });
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = web.MaxUploadBytes);
        services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = web.MaxUploadBytes);

        // The portal: Blazor pages rendered on the server, interactive over a SignalR circuit, as the signed-in user.
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddMudServices();
        services.AddScoped<PortalSession>();
        services.AddScoped<AuthenticationStateProvider, PortalAuthenticationState>();
        // Run from a build folder (./platform run, tests), package assets (_content/MudBlazor) are found through the
        // static web assets manifest; a published app has them in wwwroot and no manifest.
        if (File.Exists(Path.Combine(AppContext.BaseDirectory, $"{typeof(Extensions).Assembly.GetName().Name}.staticwebassets.runtime.json")))
            builder.WebHost.UseStaticWebAssets();

        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<ClusterHealthCheck>("cluster", tags: ["ready"]);
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("moe-web"))
            .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddMeter("Microsoft.Orleans").AddPrometheusExporter());
        return builder;
    }

    public static WebApplication MapPlatformWeb(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseKnownRequestCharsets();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }); // alive: the process answers
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapSignInEndpoints();
        app.MapOpenApi();
        app.MapScalarApiReference("/scalar");

        var web = app.Services.GetRequiredService<IOptions<WebOptions>>().Value;
        var api = app.MapGroup("/api/v1").RequireAuthorization().WithMetadata(new RequestSizeLimitAttribute(web.MaxRequestBytes))
            .AddEndpointFilter<RouteIds>();
        api.MapProjectsApi();
        api.MapAccountApi();
        api.MapExperimentsApi();
        api.MapRunsApi();
        api.MapCheckpointsApi();
        api.MapModelsApi();
        api.MapDatasetsApi(web.MaxUploadBytes);
        api.MapClusterApi();
        app.MapPlatformEvaluations(api);

        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    public static void ConfigureJson(JsonSerializerOptions json)
    {
        json.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        json.DictionaryKeyPolicy = null; // metric names and aliases are data, not property names
        // Enums by name only: {"role": 99} and {"role": "member, admin"} once stored roles that no check knew.
        json.Converters.Add(new NamedEnumConverterFactory());
        json.Converters.Add(new FiniteDoubleConverter()); // requests: finite numbers only; responses: a diverged run's NaN loss
        json.Converters.Add(new StrictJsonNodeConverterFactory()); // a config's keys, given twice, are refused like the body's
        json.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals; // floats in responses; doubles have their converter
        json.AllowDuplicateProperties = false; // {"model": "default", "model": {...}}: which one was meant?
    }

    static Task ApiOrRedirect(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        }
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    static void ConfigureLogging(ILoggingBuilder logging, WebOptions web)
    {
        logging.ClearProviders();
        if (string.Equals(web.LogFormat, "json", StringComparison.OrdinalIgnoreCase)) logging.AddJsonConsole(o => o.UseUtcTimestamp = true);
        else logging.AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss "));
        // Every SQL statement and grain placement at Information drowns what operators need; Logging:LogLevel overrides.
        logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning).AddFilter("Hangfire", LogLevel.Warning)
            .AddFilter("Orleans", LogLevel.Warning);
    }
}
