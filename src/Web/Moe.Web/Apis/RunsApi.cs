using System.Collections.Immutable;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Metrics;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Runs;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record ResourcesRequest(int Gpus = 0, double GpuMemoryGb = 0, int CpuSlots = 1);
public sealed record CreateRunRequest(
    string? ExperimentId, string? Name, string? Preset, JsonObject? Config, Dictionary<string, JsonNode?>? Overrides,
    int Priority = 0, ResourcesRequest? Resources = null, int MaxRetries = 2, string[]? RequiredTags = null);
public sealed record CancelRunRequest(string? Reason);
public sealed record RunResources(int Gpus, long GpuMemoryBytes, int CpuSlots);
public sealed record RunView(
    string Id, string ExperimentId, string Project, string Name, string Status, int Priority, RunResources Resources, int MaxRetries,
    int Attempt, DateTime CreatedAt, DateTime? StartedAt, DateTime? EndedAt, string? WorkerId, long? LastStep, long? TotalSteps,
    double? BestValLoss, JsonNode? Config);
public sealed record PageOf<T>(IReadOnlyList<T> Items, int Total, int Page, int PageSize);
public sealed record TransitionView(int Sequence, string From, string To, DateTime At, string? Reason);
public sealed record CurvePoint(long Step, long FirstStep, double? Min, double? Max, double? Value, int Count);
public sealed record CurveView(string Name, bool Downsampled, IReadOnlyList<CurvePoint> Points);
public sealed record LogLineView(long Sequence, int Attempt, DateTime At, string Line);

/// <summary>/api/v1/runs: launch from a config or preset, list and filter, follow (history, metrics, log), cancel and resume.</summary>
public static class RunsApi
{
    public const int MaxPageSize = 200, MaxMetricNames = 64, MaxPoints = 10_000, MaxLogLines = 5_000;

    public static void MapRunsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/runs").WithTags("Runs");

        group.MapPost("/", async (CreateRunRequest request, ProjectAccess access, IGrainFactory grains, RunPresets presets, CancellationToken ct) =>
        {
            var experimentId = PlatformIds.Require(request.ExperimentId, "experiment_id");
            await access.RequireExperimentAsync(experimentId, ProjectRole.Member, ct);
            var config = presets.Compose(request.Preset, request.Config, request.Overrides);
            var resources = request.Resources is { } r
                ? new ResourceRequest(r.Gpus, RunPresets.GigabytesToBytes(r.GpuMemoryGb), r.CpuSlots)
                : request.Preset is { } p ? presets.LoadRunPreset(p).Resources : new ResourceRequest(0, 0, 1);
            if (resources.Problem() is { } problem) throw new PlatformException("resources", problem);
            // config.name may be anything here (admission below names it if it is not a string): GetValue<string> threw (500).
            var name = request.Name?.Trim() is { Length: > 0 } given ? given
                : config["name"] is JsonValue configName && configName.TryGetValue<string>(out var named) ? named : request.Preset ?? "run";
            if (name.Length > 200) throw new PlatformException("name", "must be at most 200 characters");
            var runId = Slug.WithSuffix(Slug.From(name, "run"));
            var spec = new RunSpec(experimentId, name, request.Priority, resources, config.ToJsonString(), request.MaxRetries,
                [.. request.RequiredTags ?? []]);
            spec.Validate();
            await grains.GetRun(runId).CreateAsync(spec); // admission: config validation, dataset pinning
            return Results.Created($"/api/v1/runs/{runId}", await GetAsync(access.Db, runId, withConfig: true, ct));
        }).WithSummary("Launch a run: a config, a preset (tiny-cpu, small-gpu) or a preset with changes; members of the experiment's project");

        // Query parameters are snake_case like the JSON: minimal APIs bind by the C# name otherwise (pageSize), and ?page_size= was ignored.
        group.MapGet("/", async (string? project, [FromQuery(Name = "experiment_id")] string? experimentId, string? status, string? q, int? page,
            [FromQuery(Name = "page_size")] int? pageSize, ProjectAccess access, CancellationToken ct) =>
        {
            int size = pageSize ?? 50, number = page ?? 1;
            if (size is < 1 or > MaxPageSize) throw new PlatformException("page_size", $"must be between 1 and {MaxPageSize}");
            if (number < 1) throw new PlatformException("page", "must be 1 or more");
            // (page - 1) * page_size overflowed int for large pages and Skip went negative: the first page came back.
            if ((long)(number - 1) * size > int.MaxValue) throw new PlatformException("page", $"must be at most {int.MaxValue / size + 1} with page_size {size}");
            var statuses = ParseStatuses(status);
            if (project is not null) await access.RequireAsync(project, ProjectRole.Viewer, ct);
            var visible = await access.VisibleProjectsAsync(ct);
            var query = access.Db.Runs.AsNoTracking()
                .Where(r => visible == null || visible.Contains(r.Experiment!.Project))
                .Where(r => project == null || r.Experiment!.Project == project)
                .Where(r => experimentId == null || r.ExperimentId == experimentId)
                .Where(r => statuses == null || statuses.Contains(r.Status))
                .Where(r => q == null || r.Name.Contains(q) || r.Id.Contains(q));
            int total = await query.CountAsync(ct);
            var items = await View(query.OrderByDescending(r => r.CreatedAt).ThenBy(r => r.Id).Skip((number - 1) * size).Take(size), false).ToListAsync(ct);
            return new PageOf<RunView>(items, total, number, size);
        }).WithSummary("Runs you can see, newest first, filtered by ?project= ?experiment_id= ?status=running,queued ?q=, paged (?page= ?page_size=)");

        group.MapGet("/{runId}", async (string runId, ProjectAccess access, CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
            return await GetAsync(access.Db, runId, withConfig: true, ct);
        });

        group.MapPost("/{runId}/cancel", async (string runId, CancelRunRequest? request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Member, ct);
            await grains.GetRun(runId).RequestCancelAsync(request?.Reason?.Trim() is { Length: > 0 } reason ? reason : $"cancelled by {access.UserName}");
            return await GetAsync(access.Db, runId, withConfig: false, ct);
        }).WithSummary("Cancel a run that has not ended (409 once it has)");

        group.MapPost("/{runId}/resume", async (string runId, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Member, ct);
            await grains.GetRun(runId).ResumeAsync($"resumed by {access.UserName}");
            return await GetAsync(access.Db, runId, withConfig: false, ct);
        }).WithSummary("Queue a failed or cancelled run again; it continues from its newest checkpoint (409 otherwise)");

        group.MapGet("/{runId}/transitions", async (string runId, ProjectAccess access, CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
            return await access.Db.RunTransitions.AsNoTracking().Where(t => t.RunId == runId).OrderBy(t => t.Sequence)
                .Select(t => new TransitionView(t.Sequence, t.From.ToLower(), t.To.ToLower(), t.At, t.Reason)).ToListAsync(ct);
        }).WithSummary("Every status change of the run with its time and reason");

        group.MapGet("/{runId}/metrics", async (string runId, ProjectAccess access, CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
            return await new MetricStore(access.Db).ListNamesAsync(runId, ct);
        }).WithSummary("The names of the run's metrics (loss, val_loss, router.1.load.0, ...)");

        group.MapGet("/{runId}/metrics/query", async (string runId, string? names, [FromQuery(Name = "from_step")] long? fromStep,
            [FromQuery(Name = "to_step")] long? toStep, [FromQuery(Name = "max_points")] int? maxPoints,
            ProjectAccess access, CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
            var list = (names ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
            if (list.Count == 0) throw new PlatformException("names", "give one or more metric names, comma-separated");
            if (list.Count > MaxMetricNames) throw new PlatformException("names", $"at most {MaxMetricNames} metrics per query");
            int points = maxPoints ?? 1000;
            if (points is < 1 or > MaxPoints) throw new PlatformException("max_points", $"must be between 1 and {MaxPoints}");
            if (fromStep > toStep) throw new PlatformException("from_step", $"must not exceed to_step ({toStep})");
            var store = new MetricStore(access.Db);
            var curves = new List<CurveView>(list.Count);
            foreach (var name in list) curves.Add(Curve(await store.QueryAsync(runId, name, fromStep, toStep, points, ct)));
            return curves;
        }).WithSummary("Curves of named metrics between two steps, downsampled server-side to at most max_points (min/max/last per bucket)");

        group.MapGet("/{runId}/logs", async (string runId, int? tail, [FromQuery(Name = "after_sequence")] long? afterSequence, ProjectAccess access,
            CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
            int count = tail ?? 200;
            if (count is < 1 or > MaxLogLines) throw new PlatformException("tail", $"must be between 1 and {MaxLogLines}");
            var lines = await access.Db.RunLogs.AsNoTracking()
                .Where(l => l.RunId == runId && (afterSequence == null || l.Sequence > afterSequence))
                .OrderByDescending(l => l.Sequence).Take(count)
                .Select(l => new LogLineView(l.Sequence, l.Attempt, l.At, l.Line)).ToListAsync(ct);
            lines.Reverse();
            return lines;
        }).WithSummary("The last lines the run's trainer wrote (?tail=200; ?after_sequence= for lines newer than one already shown)");
    }

    internal static async Task<RunView> GetAsync(PlatformDb db, string runId, bool withConfig, CancellationToken ct) =>
        await View(db.Runs.AsNoTracking().Where(r => r.Id == runId), withConfig).SingleAsync(ct);

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
        foreach (var part in status.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            set.Add(Enum.TryParse<RunStatus>(part, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                ? parsed.ToString()
                : throw new PlatformException("status", $"unknown status '{part}'; use {string.Join(", ", Enum.GetNames<RunStatus>().Select(n => n.ToLowerInvariant()))}"));
        return set;
    }

    static CurveView Curve(MetricCurve curve) => new(curve.Name, curve.Downsampled,
        curve.Buckets.Select(b => new CurvePoint(b.LastStep, b.FirstStep, Finite(b.Min), Finite(b.Max), Finite(b.Last), b.Count)).ToList());

    static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
