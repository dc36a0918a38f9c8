using System.Text.Json.Nodes;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Runs;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>
/// Launch, cancel and resume, for the API and the portal alike: the same role checks and the same validation (preset
/// composition, resources, then the run grain's admission), so the launch form refuses exactly what the API refuses.
/// </summary>
public sealed class RunCommands(IGrainFactory grains, RunPresets presets)
{
    public async Task<RunView> LaunchAsync(ProjectAccess access, CreateRunRequest request, CancellationToken ct)
    {
        var experimentId = PlatformIds.Require(request.ExperimentId, "experiment_id");
        await access.RequireExperimentAsync(experimentId, ProjectRole.Member, ct);
        var config = presets.Compose(request.Preset, request.Config, request.Overrides);
        var resources = request.Resources is { } r
            ? new ResourceRequest(r.Gpus, RunPresets.GigabytesToBytes(r.GpuMemoryGb), r.CpuSlots)
            : request.Preset is { } p ? presets.LoadRunPreset(p).Resources : new ResourceRequest(0, 0, 1);
        if (resources.Problem() is { } problem) throw new PlatformException("resources", problem);
        // config.name may be anything here (admission below names it if it is not a string): GetValue<string> threw (500).
        var name = TextRules.OptionalName(request.Name, "name")
            ?? (config["name"] is JsonValue configName && configName.TryGetValue<string>(out var named) ? TextRules.Name(named, "config.name") : request.Preset ?? "run");
        var runId = Slug.WithSuffix(Slug.From(name, "run"));
        var spec = new RunSpec(experimentId, name, request.Priority, resources, config.ToJsonString(), request.MaxRetries,
            [.. request.RequiredTags ?? []]);
        spec.Validate();
        await grains.GetRun(runId).CreateAsync(spec); // admission: config validation, dataset pinning
        return await RunQueries.GetAsync(access.Db, runId, withConfig: true, ct);
    }

    public async Task<RunView> CancelAsync(ProjectAccess access, string runId, string? reason, CancellationToken ct)
    {
        var given = TextRules.Description(reason, "reason");
        await access.RequireRunAsync(runId, ProjectRole.Member, ct);
        await grains.GetRun(runId).RequestCancelAsync(given ?? $"cancelled by {access.UserName}");
        return await RunQueries.GetAsync(access.Db, runId, withConfig: false, ct);
    }

    public async Task<RunView> ResumeAsync(ProjectAccess access, string runId, CancellationToken ct)
    {
        await access.RequireRunAsync(runId, ProjectRole.Member, ct);
        await grains.GetRun(runId).ResumeAsync($"resumed by {access.UserName}");
        return await RunQueries.GetAsync(access.Db, runId, withConfig: false, ct);
    }
}
