using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Moe.Platform;
using Moe.Web.Queries;
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
    public static void MapRunsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/runs").WithTags("Runs");

        group.MapPost("/", async (CreateRunRequest request, ProjectAccess access, RunCommands commands, CancellationToken ct) =>
        {
            var run = await commands.LaunchAsync(access, request, ct);
            return Results.Created($"/api/v1/runs/{run.Id}", run);
        }).WithSummary("Launch a run: a config, a preset (tiny-cpu, small-gpu) or a preset with changes; members of the experiment's project");

        // Query parameters are snake_case like the JSON: minimal APIs bind by the C# name otherwise (pageSize), and ?page_size= was ignored.
        group.MapGet("/", (string? project, [FromQuery(Name = "experiment_id")] string? experimentId, string? status, string? q, int? page,
            [FromQuery(Name = "page_size")] int? pageSize, ProjectAccess access, CancellationToken ct) =>
            RunQueries.ListAsync(access, new RunFilter(project, experimentId, status, q, page ?? 1, pageSize ?? 50), ct))
            .WithSummary("Runs you can see, newest first, filtered by ?project= ?experiment_id= ?status=running,queued ?q=, paged (?page= ?page_size=)");

        group.MapGet("/{runId}", (string runId, ProjectAccess access, CancellationToken ct) => RunQueries.GetAsync(access, runId, withConfig: true, ct));

        group.MapPost("/{runId}/cancel", (string runId, CancelRunRequest? request, ProjectAccess access, RunCommands commands, CancellationToken ct) =>
            commands.CancelAsync(access, runId, request?.Reason, ct)).WithSummary("Cancel a run that has not ended (409 once it has)");

        group.MapPost("/{runId}/resume", (string runId, ProjectAccess access, RunCommands commands, CancellationToken ct) =>
            commands.ResumeAsync(access, runId, ct)).WithSummary("Queue a failed or cancelled run again; it continues from its newest checkpoint (409 otherwise)");

        group.MapGet("/{runId}/transitions", (string runId, ProjectAccess access, CancellationToken ct) => RunQueries.TransitionsAsync(access, runId, ct))
            .WithSummary("Every status change of the run with its time and reason");

        group.MapGet("/{runId}/metrics", (string runId, ProjectAccess access, CancellationToken ct) => RunQueries.MetricNamesAsync(access, runId, ct))
            .WithSummary("The names of the run's metrics (loss, val_loss, router.1.load.0, ...)");

        group.MapGet("/{runId}/metrics/query", (string runId, string? names, [FromQuery(Name = "from_step")] long? fromStep,
            [FromQuery(Name = "to_step")] long? toStep, [FromQuery(Name = "max_points")] int? maxPoints, ProjectAccess access, CancellationToken ct) =>
            RunQueries.CurvesAsync(access, runId, (names ?? "").Split(','), fromStep, toStep, maxPoints ?? 1000, ct))
            .WithSummary("Curves of named metrics between two steps, downsampled server-side to at most max_points (min/max/last per bucket)");

        group.MapGet("/{runId}/logs", (string runId, int? tail, [FromQuery(Name = "after_sequence")] long? afterSequence, ProjectAccess access,
            CancellationToken ct) => RunQueries.LogsAsync(access, runId, tail ?? 200, afterSequence, ct))
            .WithSummary("The last lines the run's trainer wrote (?tail=200; ?after_sequence= for lines newer than one already shown)");
    }
}
