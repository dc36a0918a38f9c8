using Hangfire;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Evaluations;

/// <summary>The Hangfire recurring job of each enabled schedule: id <c>evaluation-schedule-{id}</c>, its cron in UTC.</summary>
public static class EvaluationSchedules
{
    public const string RecurringJobPrefix = "evaluation-schedule-";

    public static string RecurringJobId(Guid scheduleId) => RecurringJobPrefix + scheduleId.ToString("D");

    /// <summary>Registers (or updates) the schedule's recurring job when it is enabled, removes it when not.</summary>
    public static void Sync(IRecurringJobManager recurring, EvaluationSchedule schedule)
    {
        var id = RecurringJobId(schedule.Id);
        if (!schedule.Enabled)
        {
            recurring.RemoveIfExists(id);
            return;
        }
        var scheduleId = schedule.Id;
        recurring.AddOrUpdate<EvaluationJob>(id, job => job.RunScheduleAsync(scheduleId, CancellationToken.None), schedule.Cron,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
    }

    static readonly Lazy<RecurringJobManager> CronChecker = new(() => new RecurringJobManager(new InMemoryStorage()));

    /// <summary>
    /// Why <paramref name="cron"/> is not a schedule Hangfire accepts, or null. Five fields (minute hour day month weekday)
    /// or a macro such as @daily; Hangfire's own parser decides, through a scratch in-memory storage (it has no public parser).
    /// </summary>
    public static string? CronProblem(string? cron)
    {
        if (string.IsNullOrWhiteSpace(cron)) return "is required: five fields (minute hour day month weekday), e.g. \"0 3 * * *\"";
        var text = cron.Trim();
        if (text.Length > 100) return "must be at most 100 characters";
        if (!text.StartsWith('@') && text.Split(' ', '\t').Count(p => p.Length > 0) != 5)
            return $"'{text}' must have five fields (minute hour day month weekday)";
        if (text.Equals("@every_second", StringComparison.OrdinalIgnoreCase)) return "runs more often than once a minute";
        try
        {
            CronChecker.Value.AddOrUpdate("cron-check", Job.FromExpression(() => Console.Out.Flush()), text,
                new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
            return null;
        }
        catch (ArgumentException e)
        {
            return $"'{text}' is not a valid cron expression: {(e.InnerException ?? e).Message}";
        }
    }
}

/// <summary>
/// At start, makes Hangfire's recurring jobs match the enabled schedules (in-memory storage starts empty; PostgreSQL may
/// keep jobs of schedules deleted meanwhile). With in-memory storage, evaluations and analyses left queued or running by
/// the previous process lost their jobs with it: they are marked failed so no one waits for them.
/// </summary>
sealed class EvaluationScheduleRegistrar(
    IDbContextFactory<PlatformDb> databases, IRecurringJobManager recurring, JobStorage storage, bool embedded, TimeProvider time,
    ILogger<EvaluationScheduleRegistrar> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var schedules = await db.EvaluationSchedules.AsNoTracking().Where(s => s.Enabled).ToListAsync(cancellationToken);
        foreach (var schedule in schedules)
        {
            try
            {
                EvaluationSchedules.Sync(recurring, schedule);
            }
            catch (ArgumentException e)
            {
                logger.LogError("Evaluation schedule {Id} ({Name}) has an invalid cron '{Cron}': {Problem}", schedule.Id, schedule.Name, schedule.Cron, e.Message);
            }
        }
        var wanted = schedules.Select(s => EvaluationSchedules.RecurringJobId(s.Id)).ToHashSet(StringComparer.Ordinal);
        List<RecurringJobDto> registered;
        using (var connection = storage.GetConnection()) registered = connection.GetRecurringJobs();
        foreach (var stale in registered.Where(j => j.Id.StartsWith(EvaluationSchedules.RecurringJobPrefix, StringComparison.Ordinal) && !wanted.Contains(j.Id)))
            recurring.RemoveIfExists(stale.Id);
        logger.LogInformation("Registered {Count} evaluation schedule(s) with Hangfire", schedules.Count);

        if (embedded && storage is InMemoryStorage)
        {
            const string lost = "moe-web restarted before this finished (in-memory job storage keeps no jobs across restarts); start it again";
            var now = time.GetUtcNow().UtcDateTime;
            // Only rows of earlier processes: this one may already have queued some.
            var started = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
            int evaluations = await db.Evaluations.Where(e => (e.Status == JobStatus.Queued || e.Status == JobStatus.Running) && e.CreatedAt < started)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.Status, JobStatus.Failed).SetProperty(e => e.Error, lost).SetProperty(e => e.FinishedAt, now), cancellationToken);
            int analyses = await db.RoutingAnalyses.Where(a => (a.Status == JobStatus.Queued || a.Status == JobStatus.Running) && a.CreatedAt < started)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, JobStatus.Failed).SetProperty(a => a.Error, lost).SetProperty(a => a.FinishedAt, now), cancellationToken);
            if (evaluations + analyses > 0)
                logger.LogWarning("Marked {Evaluations} evaluation(s) and {Analyses} routing analysis(es) of the previous process failed", evaluations, analyses);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
