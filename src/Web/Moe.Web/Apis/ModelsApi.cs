using Moe.Platform.Models;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record ModelVersionView(string Model, int Version, string Project, string RunId, long Step, string ArtifactPrefix, string ManifestSha256,
    string? Description, DateTimeOffset CreatedAt, IReadOnlyList<string> Aliases);
public sealed record ModelView(string Name, string Project, IReadOnlyList<ModelVersionView> Versions, IReadOnlyDictionary<string, int> Aliases);
public sealed record ModelSummary(string Name, string Project, int Versions, int LatestVersion, IReadOnlyDictionary<string, int> Aliases, DateTime UpdatedAt);
public sealed record SetAliasRequest(int? Version);

/// <summary>
/// /api/v1/models: registered models, their versions (each one checkpoint) and aliases. A model belongs to the project of
/// the runs its versions come from: the first promotion decides, later ones must come from the same project.
/// The reads and commands are <see cref="ModelQueries"/>, shared with the portal's model pages.
/// </summary>
public static class ModelsApi
{
    public static void MapModelsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/models").WithTags("Models");

        group.MapGet("/", (ProjectAccess access, CancellationToken ct) => ModelQueries.ListAsync(access, ct))
            .WithSummary("Models whose versions come from projects you can see");

        group.MapGet("/{model}", (string model, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
            ModelQueries.GetAsync(access, grains, model, ct));

        group.MapGet("/{model}/versions/{versionOrAlias}", (string model, string versionOrAlias, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
            ModelQueries.ResolveAsync(access, grains, model, versionOrAlias, ct))
            .WithSummary("A version by number or alias (\"3\", \"production\")");

        group.MapPut("/{model}/aliases/{alias}", (string model, string alias, SetAliasRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
            ModelQueries.SetAliasAsync(access, grains, model, alias, request.Version, ct))
            .WithSummary("Point an alias at a version (moving it if it exists)");

        group.MapDelete("/{model}/aliases/{alias}", async (string model, string alias, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await ModelQueries.RemoveAliasAsync(access, grains, model, alias, ct);
            return Results.NoContent();
        });

        group.MapDelete("/{model}/versions/{version:int}", async (string model, int version, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await ModelQueries.DeleteVersionAsync(access, grains, model, version, ct); // 409 while an alias points at it
            return Results.NoContent();
        }).WithSummary("Delete a version (its checkpoint is unpinned and falls to retention)");
    }

    public static ModelVersionView View(ModelVersionSnapshot v, string project) => ModelQueries.VersionView(v, project);

    /// <summary>
    /// The project a model belongs to, after checking the user's role there. A model with no version yet is unknown
    /// (404) unless <paramref name="promotingFrom"/> names the project a first version is being promoted from.
    /// </summary>
    public static Task<string> RequireModelProjectAsync(ProjectAccess access, string model, ProjectRole minimum, string? promotingFrom, CancellationToken ct) =>
        ModelQueries.RequireModelProjectAsync(access, model, minimum, promotingFrom, ct);
}
