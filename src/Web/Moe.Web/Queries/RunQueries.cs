using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Metrics;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>Which runs a list shows: a project, an experiment, statuses ("running,queued"), a search text, a page.</summary>
public sealed record RunFilter(string? Project = null, string? ExperimentId = null, string? Status = null, string? Text = null, int Page = 1,
    int PageSize = 50);

/// <summary>
/// The reads behind the runs API and the portal's run pages: one place for the access checks, paging rules, lower-case
/// statuses and downsampled curves, so a page shows exactly what the API answers.
/// </summary>
public static class RunQueries
{
    public const int MaxMetricNames = 64, MaxPoints = 10_000, MaxLogLines = 5_000;

    public static async Task<PageOf<RunView>> ListAsync(ProjectAccess access, RunFilter filter, CancellationToken ct)
    {
        var page = Paging.Check(filter.Page, filter.PageSize);
        var statuses = ParseStatuses(filter.Status);
        var (project, experimentId, q) = (filter.Project, filter.ExperimentId, filter.Text);
        if (project is not null) await access.RequireAsync(project, ProjectRole.Viewer, ct);
        var visible = await access.VisibleProjectsAsync(ct);
        var query = access.Db.Runs.AsNoTracking()
            .Where(r => visible == null || visible.Contains(r.Experiment!.Project))
            .Where(r => project == null || r.Experiment!.Project == project)
            .Where(r => experimentId == null || r.ExperimentId == experimentId)
            .Where(r => statuses == null || statuses.Contains(r.Status))
            .Where(r => q == null || r.Name.Contains(q) || r.Id.Contains(q));
        return await Paging.PageAsync(query, q => q.OrderByDescending(r => r.CreatedAt).ThenBy(r => r.Id), q => View(q, false), page, ct);
    }

    public static async Task<RunView> GetAsync(ProjectAccess access, string runId, bool withConfig, CancellationToken ct)
    {
        await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
        return await GetAsync(access.Db, runId, withConfig, ct);
    }

    /// <summary>The view of a run already checked (after a command).</summary>
    public static async Task<RunView> GetAsync(PlatformDb db, string runId, bool withConfig, CancellationToken ct) =>
        await View(db.Runs.AsNoTracking().Where(r => r.Id == runId), withConfig).SingleAsync(ct);

    public static async Task<List<TransitionView>> TransitionsAsync(ProjectAccess access, string runId, CancellationToken ct)
    {
        await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
        return await access.Db.RunTransitions.AsNoTracking().Where(t => t.RunId == runId).OrderBy(t => t.Sequence)
            .Select(t => new TransitionView(t.Sequence, t.From.ToLower(), t.To.ToLower(), t.At, t.Reason)).ToListAsync(ct);
    }

    public static async Task<IReadOnlyList<string>> MetricNamesAsync(ProjectAccess access, string runId, CancellationToken ct)
    {
        await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
        return await new MetricStore(access.Db).ListNamesAsync(runId, ct);
    }

    /// <summary>Curves of named metrics between two steps, each downsampled to at most <paramref name="maxPoints"/> buckets.</summary>
    public static async Task<List<CurveView>> CurvesAsync(ProjectAccess access, string runId, IEnumerable<string> names, long? fromStep, long? toStep,
        int maxPoints, CancellationToken ct)
    {
        await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
        var list = names.Select(n => n.Trim()).Where(n => n.Length > 0).Distinct().ToList();
        if (list.Count == 0) throw new PlatformException("names", "give one or more metric names, comma-separated");
        if (list.Count > MaxMetricNames) throw new PlatformException("names", $"at most {MaxMetricNames} metrics per query");
        if (maxPoints is < 1 or > MaxPoints) throw new PlatformException("max_points", $"must be between 1 and {MaxPoints}");
        if (fromStep > toStep) throw new PlatformException("from_step", $"must not exceed to_step ({toStep})");
        var store = new MetricStore(access.Db);
        var curves = new List<CurveView>(list.Count);
        foreach (var name in list) curves.Add(Curve(await store.QueryAsync(runId, name, fromStep, toStep, maxPoints, ct)));
        return curves;
    }

    /// <summary>The last <paramref name="tail"/> log lines, oldest first; only those after <paramref name="afterSequence"/> when given.</summary>
    public static async Task<List<LogLineView>> LogsAsync(ProjectAccess access, string runId, int tail, long? afterSequence, CancellationToken ct)
    {
        await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
        if (tail is < 1 or > MaxLogLines) throw new PlatformException("tail", $"must be between 1 and {MaxLogLines}");
        var lines = await access.Db.RunLogs.AsNoTracking()
            .Where(l => l.RunId == runId && (afterSequence == null || l.Sequence > afterSequence))
            .OrderByDescending(l => l.Sequence).Take(tail)
            .Select(l => new LogLineView(l.Sequence, l.Attempt, l.At, l.Line)).ToListAsync(ct);
        lines.Reverse();
        return lines;
    }

    public static async Task<List<CheckpointView>> CheckpointsAsync(ProjectAccess access, string runId, CancellationToken ct)
    {
        await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
        return await access.Db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId).OrderBy(c => c.Step)
            .Select(c => new CheckpointView(c.Step, c.ArtifactPrefix, c.ManifestSha256, c.SizeBytes, c.ValLoss, c.CreatedAt,
                c.ModelVersions.OrderBy(m => m.Name).ThenBy(m => m.Version).Select(m => m.Name + "/" + m.Version).ToList()))
            .ToListAsync(ct);
    }

    // Statuses are stored as the state names ("Running"); the API writes them lower-case like every other enum.
    static IQueryable<RunView> View(IQueryable<Run> runs, bool withConfig) =>
        runs.Select(r => new RunView(r.Id, r.ExperimentId, r.Experiment!.Project, r.Name, r.Status.ToLower(), r.Priority,
            new RunResources(r.Gpus, r.GpuMemoryBytes, r.CpuSlots), r.MaxRetries, r.Attempt, r.CreatedAt, r.StartedAt, r.EndedAt,
            r.WorkerId, r.LastStep, r.TotalSteps, r.BestValLoss, withConfig ? ParseConfig(r.ConfigJson) : null));

    // A method rather than JsonNode.Parse(json, null, default) in the projection: EF Core refuses the constant
    // JsonDocumentOptions argument in a client projection (every query using View threw).
    static JsonNode? ParseConfig(string configJson) => JsonNode.Parse(configJson);

    static HashSet<string>? ParseStatuses(string? status)
    {
        if (string.IsNullOrWhiteSpace(status)) return null;
        var set = new HashSet<string>();
        // By name only, as in bodies: Enum.TryParse also takes numbers ("2").
        foreach (var part in status.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            set.Add(Enum.GetNames<RunStatus>().FirstOrDefault(name => name.Equals(part, StringComparison.OrdinalIgnoreCase))
                ?? throw new PlatformException("status", $"unknown status '{part}'; use {string.Join(", ", Enum.GetNames<RunStatus>().Select(n => n.ToLowerInvariant()))}"));
        return set;
    }

    static CurveView Curve(MetricCurve curve) => new(curve.Name, curve.Downsampled,
        curve.Buckets.Select(b => new CurvePoint(b.LastStep, b.FirstStep, Finite(b.Min), Finite(b.Max), Finite(b.Last), b.Count)).ToList());

    static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
