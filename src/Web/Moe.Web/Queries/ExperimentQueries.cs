using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Experiments;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Security;

using static Moe.Web.Portal.JsonRead;

namespace Moe.Web.Queries;

/// <summary>The key settings of a run's config a table shows, and its last throughput.</summary>
public sealed record RunKeyFacts(
    int? Experts, int? TopK, int? SharedExperts, string? Router, string? Balancing, int? DModel, int? Layers, long? Steps, double? TokensPerSecond);

/// <summary>
/// The reads and commands behind the experiments API and the portal's experiment pages: the same access checks (viewer
/// to read, member to change), the same views and the same refusals.
/// </summary>
public static class ExperimentQueries
{
    static readonly string[] Ended = [nameof(RunStatus.Succeeded), nameof(RunStatus.Failed), nameof(RunStatus.Cancelled)];

    /// <summary>Experiments the user can see, newest first; <paramref name="project"/> narrows to one (viewer role needed).</summary>
    public static async Task<List<ExperimentView>> ListAsync(ProjectAccess access, string? project, bool includeDeleted, CancellationToken ct)
    {
        var visible = await access.VisibleProjectsAsync(ct);
        if (project is not null) await access.RequireAsync(project, ProjectRole.Viewer, ct);
        var query = access.Db.Experiments.AsNoTracking()
            .Where(e => visible == null || visible.Contains(e.Project))
            .Where(e => project == null || e.Project == project)
            .Where(e => includeDeleted || e.DeletedAt == null);
        return await ToViews(query.OrderByDescending(e => e.CreatedAt)).ToListAsync(ct);
    }

    /// <summary>The experiments the user may launch runs in (member or admin of their project), not deleted, by name.</summary>
    public static async Task<List<ExperimentView>> LaunchableAsync(ProjectAccess access, CancellationToken ct)
    {
        List<string>? projects = access.IsPlatformAdmin ? null
            : (await access.RolesAsync(ct)).Where(r => r.Value >= ProjectRole.Member).Select(r => r.Key).ToList();
        var query = access.Db.Experiments.AsNoTracking()
            .Where(e => e.DeletedAt == null && (projects == null || projects.Contains(e.Project)));
        return await ToViews(query.OrderBy(e => e.Project).ThenBy(e => e.Name)).ToListAsync(ct);
    }

    /// <summary>The projects the user may create experiments in (member or admin).</summary>
    public static async Task<List<string>> CreatableProjectsAsync(ProjectAccess access, CancellationToken ct) =>
        access.IsPlatformAdmin
            ? await access.Db.Projects.AsNoTracking().OrderBy(p => p.Id).Select(p => p.Id).ToListAsync(ct)
            : (await access.RolesAsync(ct)).Where(r => r.Value >= ProjectRole.Member).Select(r => r.Key).Order(StringComparer.Ordinal).ToList();

    public static async Task<ExperimentView> GetAsync(ProjectAccess access, string experimentId, CancellationToken ct)
    {
        await access.RequireExperimentAsync(experimentId, ProjectRole.Viewer, ct);
        return await GetAsync(access.Db, experimentId, ct);
    }

    /// <summary>The view of an experiment already checked.</summary>
    public static async Task<ExperimentView> GetAsync(PlatformDb db, string experimentId, CancellationToken ct) =>
        await ToViews(db.Experiments.AsNoTracking().Where(e => e.Id == experimentId)).SingleAsync(ct);

    /// <summary>Creates an experiment (members); without an id, one is made from the name (with a suffix when taken).</summary>
    public static async Task<ExperimentView> CreateAsync(ProjectAccess access, IGrainFactory grains, CreateExperimentRequest request, CancellationToken ct)
    {
        var project = PlatformIds.Require(request.Project ?? Project.DefaultId, "project");
        await access.RequireAsync(project, ProjectRole.Member, ct);
        var spec = new ExperimentSpec(request.Name!, request.Description, project).Validated();
        var id = request.Id is null ? Slug.From(spec.Name, "exp") : PlatformIds.Require(request.Id, "id");
        var created = await CreateAsync(grains, id, spec, retryWithSuffix: request.Id is null);
        return await GetAsync(access.Db, created.ExperimentId, ct);
    }

    public static async Task<ExperimentView> UpdateAsync(ProjectAccess access, IGrainFactory grains, string experimentId, UpdateExperimentRequest request,
        CancellationToken ct)
    {
        await access.RequireExperimentAsync(experimentId, ProjectRole.Member, ct);
        // Checked here too, so a refusal never reaches the grain; a blank description clears it.
        var name = request.Name is null ? null : TextRules.Name(request.Name, "name");
        var description = request.Description is null ? null : TextRules.Description(request.Description, "description") ?? "";
        await grains.GetExperiment(experimentId).UpdateAsync(name, description);
        return await GetAsync(access.Db, experimentId, ct);
    }

    /// <summary>Marks the experiment deleted (members); a conflict while it has active runs.</summary>
    public static async Task DeleteAsync(ProjectAccess access, IGrainFactory grains, string experimentId, CancellationToken ct)
    {
        await access.RequireExperimentAsync(experimentId, ProjectRole.Member, ct);
        await grains.GetExperiment(experimentId).DeleteAsync(); // 409 while runs are active
    }

    /// <summary>Key settings (from each run's config) and the last tokens/s of the experiment's runs, by run id.</summary>
    public static async Task<Dictionary<string, RunKeyFacts>> RunFactsAsync(ProjectAccess access, string experimentId, CancellationToken ct)
    {
        await access.RequireExperimentAsync(experimentId, ProjectRole.Viewer, ct);
        var db = access.Db;
        var configs = await db.Runs.AsNoTracking().Where(r => r.ExperimentId == experimentId)
            .Select(r => new { r.Id, r.ConfigJson }).ToListAsync(ct);
        var ids = configs.Select(c => c.Id).ToList();
        var throughput = await db.MetricSeries.AsNoTracking()
            .Where(s => ids.Contains(s.RunId) && s.Name == "tokens_per_s")
            .Select(s => new
            {
                s.RunId,
                Value = db.MetricSamples.Where(m => m.SeriesId == s.Id).OrderByDescending(m => m.Step).Select(m => m.Value).FirstOrDefault(),
            })
            .ToListAsync(ct);
        var last = throughput.GroupBy(t => t.RunId).ToDictionary(g => g.Key, g => g.First().Value);
        return configs.ToDictionary(c => c.Id, c => KeyFacts(c.ConfigJson, last.GetValueOrDefault(c.Id)));
    }

    /// <summary>Reads the key settings from a stored run config (absent or malformed parts stay null).</summary>
    public static RunKeyFacts KeyFacts(string configJson, double? tokensPerSecond = null)
    {
        JsonNode? config;
        try { config = JsonNode.Parse(configJson); }
        catch (JsonException) { config = null; }
        var model = config?["model"] as JsonObject;
        var moe = model?["moe"] as JsonObject;
        return new RunKeyFacts(Int(moe?["num_experts"]), Int(moe?["top_k"]), Int(moe?["num_shared_experts"]), Router(moe),
            Balancing(moe?["balance"] as JsonObject), Int(model?["d_model"]), Int(model?["n_layers"]), Int(config?["training"]?["steps"]),
            tokensPerSecond);
    }

    static string? Router(JsonObject? moe)
    {
        if (moe is null) return null;
        var router = moe["router"] as JsonObject;
        return $"{Text(router?["score"]) ?? "softmax"}/{Text(router?["gating"]) ?? "top_k"}";
    }

    /// <summary>"switch 0.01 + z 0.001", "aux-free" ...: the balancing terms that are on.</summary>
    static string? Balancing(JsonObject? balance)
    {
        if (balance is null) return null;
        var parts = new List<string>();
        void Weight(string key, string label)
        {
            if (Double(balance[key]) is { } w && w > 0) parts.Add($"{label} {w.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)}");
        }
        Weight("switch_weight", "switch");
        Weight("importance_weight", "importance");
        Weight("z_loss_weight", "z");
        Weight("group_weight", "group");
        if (Bool(balance["aux_free"]) == true) parts.Add("aux-free");
        return parts.Count > 0 ? string.Join(" + ", parts) : "none";
    }


    static async Task<ExperimentSnapshot> CreateAsync(IGrainFactory grains, string id, ExperimentSpec spec, bool retryWithSuffix)
    {
        try
        {
            return await grains.GetExperiment(id).CreateAsync(spec);
        }
        catch (PlatformException e) when (retryWithSuffix && e.Kind == PlatformErrorKind.Conflict && e.Field == "experiment_id")
        {
            return await grains.GetExperiment(Slug.WithSuffix(id)).CreateAsync(spec);
        }
    }

    static IQueryable<ExperimentView> ToViews(IQueryable<Experiment> experiments) =>
        experiments.Select(e => new ExperimentView(e.Id, e.Project, e.Name, e.Description, e.CreatedAt, e.DeletedAt,
            e.Runs.Count, e.Runs.Count(r => !Ended.Contains(r.Status)), e.Runs.Min(r => r.BestValLoss)));
}
