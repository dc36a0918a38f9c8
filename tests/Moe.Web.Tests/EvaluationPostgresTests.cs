using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Tests.Metadata;
using Moe.Web.Evaluations;

namespace Moe.Web.Tests;

/// <summary>
/// With the platform on PostgreSQL, Hangfire keeps its jobs there too: a job runs, is retried and ends with its row
/// failed; a schedule's recurring job is stored with its cron. No training: the job's run is missing on purpose.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class EvaluationPostgresTests(PostgresWebApp app) : IClassFixture<PostgresWebApp>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Jobs_and_recurring_jobs_live_in_postgresql()
    {
        var storage = app.Services.GetRequiredService<JobStorage>();
        Assert.IsType<PostgreSqlStorage>(storage);

        var evaluation = new Evaluation { ProjectId = Project.DefaultId, Name = "no run" };
        await using (var db = app.NewDb())
        {
            db.Evaluations.Add(evaluation);
            await db.SaveChangesAsync(Ct);
        }
        app.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<EvaluationJob>(
            job => job.RunAsync(evaluation.Id, new EvaluationSpec(null, null, null, 8, 1), null, CancellationToken.None));
        var failed = await Poll.UntilAsync(async () =>
        {
            var row = await app.Admin.GetJsonAsync($"/api/v1/evaluations/{evaluation.Id}");
            return row.Str("status") == "failed" ? row : null;
        }, TimeSpan.FromMinutes(1), "the evaluation did not fail on PostgreSQL");
        Assert.Equal(3, failed.Long("attempts"));
        Assert.Contains("deleted", failed.Str("error"));

        var schedule = new EvaluationSchedule { ProjectId = Project.DefaultId, Name = "pg", Cron = "0 0 1 1 *", RunId = "some-run" };
        var recurring = app.Services.GetRequiredService<IRecurringJobManager>();
        EvaluationSchedules.Sync(recurring, schedule);
        string Cron()
        {
            using var connection = storage.GetConnection();
            return connection.GetRecurringJobs().SingleOrDefault(j => j.Id == EvaluationSchedules.RecurringJobId(schedule.Id))?.Cron ?? "";
        }
        Assert.Equal("0 0 1 1 *", Cron());
        schedule.Enabled = false;
        EvaluationSchedules.Sync(recurring, schedule);
        Assert.Equal("", Cron());
    }
}
