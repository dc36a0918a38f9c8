namespace Moe.Web.Evaluations;

/// <summary>Scheduled evaluations and routing analyses (Hangfire): services, the job server and their API.</summary>
public static class EvaluationsExtensions
{
    public static WebApplicationBuilder AddPlatformEvaluations(this WebApplicationBuilder builder, WebOptions web) => builder;

    /// <summary>Maps /api/v1/evaluation-schedules, /api/v1/evaluations, /api/v1/routing-analyses and the admin-only dashboard.</summary>
    public static WebApplication MapPlatformEvaluations(this WebApplication app, RouteGroupBuilder api) => app;
}
