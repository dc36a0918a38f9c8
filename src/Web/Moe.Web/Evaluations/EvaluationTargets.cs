using System.Globalization;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Evaluations;

/// <summary>What an evaluation looks at, as a schedule or a request names it: a run (its newest checkpoint) or a model
/// version (a number, an alias, or null for the newest), a dataset for validation, and how much to evaluate.</summary>
public sealed record EvaluationTarget(
    string? RunId, string? ModelName, string? ModelVersion, string? DatasetId, int? DatasetVersion, int Windows, int ArithmeticProblems)
{
    public const int MaxWindows = 10_000, MaxArithmeticProblems = 10_000;

    public static EvaluationTarget Of(EvaluationSchedule s) =>
        new(s.RunId, s.ModelName, s.ModelVersion, s.DatasetId, s.DatasetVersion, s.Windows, s.ArithmeticProblems);

    /// <summary>Blank strings become null, model names lower-case (as promotion writes them).</summary>
    public EvaluationTarget Normalized() => this with
    {
        RunId = Blank(RunId), ModelName = Blank(ModelName)?.ToLowerInvariant(), ModelVersion = Blank(ModelVersion), DatasetId = Blank(DatasetId),
    };

    /// <summary>The checks that need no database: one target, sizes in range, something to evaluate.</summary>
    public void Validate()
    {
        if ((RunId is null) == (ModelName is null)) throw new PlatformException("run_id", "give exactly one of run_id and model_name");
        if (ModelVersion is not null && ModelName is null) throw new PlatformException("model_version", "needs model_name");
        if (DatasetVersion is not null && DatasetId is null) throw new PlatformException("dataset_version", "needs dataset_id");
        if (Windows is < 1 or > MaxWindows) throw new PlatformException("windows", $"must be between 1 and {MaxWindows}");
        if (ArithmeticProblems is < 0 or > MaxArithmeticProblems)
            throw new PlatformException("arithmetic_problems", $"must be between 0 and {MaxArithmeticProblems}");
        if (DatasetId is null && ArithmeticProblems == 0)
            throw new PlatformException("dataset_id", "give a dataset_id (validation loss) or arithmetic_problems above 0, or both");
    }

    /// <summary>
    /// Resolves the target against the database (400 naming the field when something is missing): the project it belongs
    /// to (which must be <paramref name="project"/> when given), the run, the model version (the alias as it points now)
    /// and, with <paramref name="pinDataset"/>, the dataset version (the newest ready one when none is named).
    /// </summary>
    public async Task<ResolvedEvaluation> ResolveAsync(PlatformDb db, string? project, bool pinDataset, CancellationToken ct)
    {
        Validate();
        string runId, owner, field;
        Guid? modelVersionId = null;
        if (RunId is not null)
        {
            (runId, field) = (RunId, "run_id");
            owner = await db.Runs.AsNoTracking().Where(r => r.Id == RunId).Select(r => r.Experiment!.Project).FirstOrDefaultAsync(ct)
                ?? throw new PlatformException(field, $"run '{RunId}' not found");
        }
        else
        {
            field = "model_name";
            var version = await ModelVersionAsync(db, ct);
            (modelVersionId, runId) = (version.Id, version.RunId);
            owner = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => r.Experiment!.Project).FirstAsync(ct);
        }
        if (project is not null && owner != project)
            throw new PlatformException(field, $"'{RunId ?? ModelName}' belongs to project '{owner}', not '{project}'");

        int? datasetVersion = DatasetVersion;
        if (DatasetId is not null)
        {
            int ready = await ReadyDatasetVersionAsync(db, DatasetId, DatasetVersion, ct);
            if (pinDataset) datasetVersion = ready;
        }
        return new ResolvedEvaluation(owner, runId, new EvaluationSpec(modelVersionId, DatasetId, datasetVersion, Windows, ArithmeticProblems));
    }

    /// <summary>The ready version <paramref name="version"/> of the dataset, or its newest ready one; 400 naming the field otherwise.</summary>
    public static async Task<int> ReadyDatasetVersionAsync(PlatformDb db, string datasetId, int? version, CancellationToken ct)
    {
        if (!await db.Datasets.AnyAsync(d => d.Id == datasetId, ct)) throw new PlatformException("dataset_id", $"dataset '{datasetId}' not found");
        var ready = db.DatasetVersions.AsNoTracking().Where(v => v.DatasetId == datasetId && v.Status == DatasetVersionStatus.Ready);
        if (version is not { } v)
            return await ready.MaxAsync(x => (int?)x.Version, ct) ?? throw new PlatformException("dataset_id", $"dataset '{datasetId}' has no ready version yet");
        return await ready.AnyAsync(x => x.Version == v, ct) ? v
            : throw new PlatformException("dataset_version", $"dataset '{datasetId}' has no ready version {v}");
    }

    async Task<(Guid Id, string RunId)> ModelVersionAsync(PlatformDb db, CancellationToken ct)
    {
        var versions = db.ModelVersions.AsNoTracking().Where(m => m.Name == ModelName);
        if (!await versions.AnyAsync(ct)) throw new PlatformException("model_name", $"model '{ModelName}' not found");
        Guid? id;
        if (ModelVersion is null) id = await versions.OrderByDescending(m => m.Version).Select(m => (Guid?)m.Id).FirstAsync(ct);
        else if (int.TryParse(ModelVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            id = await versions.Where(m => m.Version == number).Select(m => (Guid?)m.Id).FirstOrDefaultAsync(ct);
        else id = await db.ModelAliases.AsNoTracking().Where(a => a.ModelName == ModelName && a.Alias == ModelVersion).Select(a => (Guid?)a.ModelVersionId).FirstOrDefaultAsync(ct);
        if (id is null) throw new PlatformException("model_version", $"model '{ModelName}' has no version or alias '{ModelVersion}'");
        var runId = await db.ModelVersions.AsNoTracking().Where(m => m.Id == id).Select(m => m.Checkpoint!.RunId).FirstAsync(ct);
        return (id.Value, runId);
    }

    static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}

/// <summary>The arguments of one evaluation job (Hangfire keeps them with the job, so retries see the same): the model
/// version (null: the run's newest checkpoint when the attempt starts), the dataset version, the sizes.</summary>
public sealed record EvaluationSpec(Guid? ModelVersionId, string? DatasetId, int? DatasetVersion, int Windows, int ArithmeticProblems);

public sealed record ResolvedEvaluation(string Project, string RunId, EvaluationSpec Spec);

/// <summary>Creates evaluation rows and queues their jobs: for a request, a schedule's "run now", and its recurring job.</summary>
public sealed class EvaluationLauncher(IBackgroundJobClient jobs, TimeProvider time, ILogger<EvaluationLauncher> logger)
{
    /// <summary>Saves a queued evaluation of an already resolved target and queues its job.</summary>
    public async Task<Evaluation> StartAsync(PlatformDb db, ResolvedEvaluation target, string name, string trigger, Guid? scheduleId, CancellationToken ct)
    {
        var evaluation = new Evaluation
        {
            ProjectId = target.Project, Name = name, Trigger = trigger, ScheduleId = scheduleId, RunId = target.RunId,
            ModelVersionId = target.Spec.ModelVersionId, CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.Evaluations.Add(evaluation);
        await db.SaveChangesAsync(ct);
        var jobId = jobs.Enqueue<EvaluationJob>(j => j.RunAsync(evaluation.Id, target.Spec, null, CancellationToken.None));
        logger.LogInformation("Evaluation {Id} ({Name}, {Trigger}) of run {RunId} queued as job {JobId}", evaluation.Id, name, trigger, target.RunId, jobId);
        return evaluation;
    }

    /// <summary>
    /// Starts an evaluation of the schedule's target and records the time on the schedule. When the target no longer
    /// resolves (the run deleted, the alias removed), the evaluation is recorded as failed with the reason.
    /// </summary>
    public async Task<Evaluation> StartScheduledAsync(PlatformDb db, EvaluationSchedule schedule, string trigger, CancellationToken ct)
    {
        schedule.LastRunAt = time.GetUtcNow().UtcDateTime;
        ResolvedEvaluation resolved;
        try
        {
            resolved = await EvaluationTarget.Of(schedule).ResolveAsync(db, schedule.ProjectId, pinDataset: true, ct);
        }
        catch (PlatformException e)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var failed = new Evaluation
            {
                ProjectId = schedule.ProjectId, Name = schedule.Name, Trigger = trigger, ScheduleId = schedule.Id, RunId = schedule.RunId,
                Status = JobStatus.Failed, Error = e.Message, CreatedAt = now, FinishedAt = now,
            };
            // The run may be gone too: keep the row, without the dangling reference.
            if (failed.RunId is not null && !await db.Runs.AnyAsync(r => r.Id == failed.RunId, ct)) failed.RunId = null;
            db.Evaluations.Add(failed);
            await db.SaveChangesAsync(ct);
            logger.LogWarning("Evaluation schedule {Schedule} ({Name}) cannot run: {Problem}", schedule.Id, schedule.Name, e.Message);
            return failed;
        }
        return await StartAsync(db, resolved, schedule.Name, trigger, schedule.Id, ct);
    }
}
