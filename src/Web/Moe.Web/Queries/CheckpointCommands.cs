using System.Globalization;
using Moe.Platform.Grains.Models;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>
/// Promotion of a checkpoint to the model registry, for the API and the portal alike: the same role checks (member of
/// the run's project, and of the model's project when it has versions already) and the same grain calls.
/// </summary>
public static class CheckpointCommands
{
    /// <summary>
    /// Registers checkpoint <paramref name="step"/> of the run as the next version of the model (created on its first
    /// version, in the run's project) and points the alias at it when one is given. Returns the new version.
    /// </summary>
    public static async Task<ModelVersionView> PromoteAsync(ProjectAccess access, IGrainFactory grains, string runId, long step, PromoteRequest request,
        CancellationToken ct)
    {
        var project = await access.RequireRunAsync(runId, ProjectRole.Member, ct);
        var model = PlatformIds.Require(request.Model?.Trim().ToLowerInvariant(), "model");
        await ModelsApi.RequireModelProjectAsync(access, model, ProjectRole.Member, project, ct);
        var alias = string.IsNullOrWhiteSpace(request.Alias) ? null : request.Alias.Trim();
        if (alias is not null) ModelCatalog.RequireAliasName(alias); // before the version exists: a refused alias registers nothing
        var registry = grains.GetModel(model);
        var version = await registry.RegisterVersionAsync(runId, step, request.Description);
        if (alias is not null) await registry.SetAliasAsync(alias, version.Version);
        return ModelsApi.View(await registry.ResolveAsync(version.Version.ToString(CultureInfo.InvariantCulture)), project);
    }
}
