using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.Dashboard;
using Hangfire.InMemory;
using Hangfire.Logging;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Grains.Hosting;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Security;

namespace Moe.Web.Evaluations;

/// <summary>Scheduled evaluations and routing analyses (Hangfire): services, the job server and their API.</summary>
public static class EvaluationsExtensions
{
    /// <summary>
    /// Hangfire on PostgreSQL when the platform's metadata is there (jobs survive restarts and are shared by web
    /// replicas), in memory otherwise; a small job server (Evaluations:Workers, 2) runs the trainer jobs beside training.
    /// </summary>
    /// <remarks>
    /// Storage, activator and filters are this app's services rather than Hangfire's process-wide statics, so two apps in
    /// one process (the tests) never run each other's jobs; the process-wide log provider tolerates a stopped app.
    /// </remarks>
    public static WebApplicationBuilder AddPlatformEvaluations(this WebApplicationBuilder builder, WebOptions web)
    {
        var section = builder.Configuration.GetSection(EvaluationOptions.Section);
        var options = section.Get<EvaluationOptions>() ?? new EvaluationOptions();
        options.Validate();
        var services = builder.Services;
        services.Configure<EvaluationOptions>(section);

        services.AddSingleton<JobStorage>(sp => CreateStorage(sp.GetRequiredService<PlatformSiloOptions>().Postgres));
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton<IJobFilterProvider>(new RetryFilterProvider(options.RetryDelaySeconds()));
        services.AddHangfire((sp, config) => config.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings()
            .UseLogProvider(new AppLogProvider(sp.GetRequiredService<ILoggerFactory>())));
        services.AddHangfireServer((_, server) =>
        {
            server.WorkerCount = options.Workers;
            server.SchedulePollingInterval = options.SchedulePollInterval;
            server.ShutdownTimeout = TimeSpan.FromSeconds(10); // a cancelled trainer job is killed; no need to wait 15 s
            server.ServerName = $"moe-web-{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}";
        });

        services.AddHostedService<OrphanedJobSweep>();
        services.AddSingleton<TrainerJobRunner>();
        services.AddSingleton<EvaluationLauncher>();
        services.AddTransient<EvaluationJob>();
        services.AddTransient<RoutingAnalysisJob>();
        services.AddHostedService(sp => new EvaluationScheduleRegistrar(sp.GetRequiredService<IDbContextFactory<PlatformDb>>(),
            sp.GetRequiredService<IRecurringJobManager>(), sp.GetRequiredService<JobStorage>(), embedded: !web.IsClient,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EvaluationScheduleRegistrar>>()));
        return builder;
    }

    /// <summary>Maps /api/v1/evaluation-schedules, /api/v1/evaluations, /api/v1/routing-analyses and the admin-only dashboard.</summary>
    public static WebApplication MapPlatformEvaluations(this WebApplication app, RouteGroupBuilder api)
    {
        api.MapEvaluationsApi();
        api.MapRoutingAnalysesApi();
        // Signed-in users only (anonymous page requests are sent to the sign-in form); the filter leaves non-admins a 403.
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new PlatformAdminDashboardFilter()],
            AsyncAuthorization = [],
            DashboardTitle = "MoE platform jobs",
            AppPath = "/",
            DisplayStorageConnectionString = false,
        }).RequireAuthorization();
        return app;
    }

    static JobStorage CreateStorage(string? postgres)
    {
        if (string.IsNullOrWhiteSpace(postgres)) return new InMemoryStorage();
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = "hangfire",
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = TimeSpan.FromSeconds(2), // a queued job starts within seconds; the query is cheap
            UseSlidingInvisibilityTimeout = true, // a long evaluation is not handed to a second worker after 30 minutes
        };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(postgres, options), options);
    }
}

/// <summary>
/// Hangfire's log provider is process-wide, but an app's logger factory is disposed with the app: with a second app in
/// the process (the tests), every Hangfire object created after the first one stopped would throw. Silent instead.
/// </summary>
sealed class AppLogProvider(ILoggerFactory loggers) : ILogProvider
{
    readonly AspNetCoreLogProvider _inner = new(loggers);

    public ILog GetLogger(string name)
    {
        try
        {
            return _inner.GetLogger(name);
        }
        catch (ObjectDisposedException)
        {
            return Silent.Instance;
        }
    }

    sealed class Silent : ILog
    {
        public static readonly Silent Instance = new();

        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
    }
}

/// <summary>The Hangfire dashboard is for platform admins: 403 for other signed-in users.</summary>
sealed class PlatformAdminDashboardFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) => context.GetHttpContext().User.IsPlatformAdmin();
}

/// <summary>
/// Hangfire's filters with this app's retry policy (Evaluations:RetryDelays) in place of the global default (10 retries
/// over hours): a failed attempt is retried after each delay in turn, then the job fails.
/// </summary>
sealed class RetryFilterProvider(int[] delays) : IJobFilterProvider
{
    readonly JobFilter _retry = new(new AutomaticRetryAttribute
    {
        Attempts = delays.Length,
        DelaysInSeconds = delays.Length > 0 ? delays : null,
        OnAttemptsExceeded = AttemptsExceededAction.Fail,
    }, JobFilterScope.Method, null);

    public IEnumerable<JobFilter> GetFilters(Job job) =>
        JobFilterProviders.Providers.GetFilters(job).Where(f => f.Instance is not AutomaticRetryAttribute).Append(_retry);
}
