using System.Globalization;
using Microsoft.Extensions.Options;
using Moe.Platform;
using Moe.Platform.Datasets;
using Moe.Platform.Storage.Artifacts;
using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record DatasetSummary(string Id, string? Description, DateTime CreatedAt, int Versions, int? LatestReadyVersion, string? LatestStatus,
    long? LatestReadyTokens = null);
public sealed record CreateDatasetRequest(string? Id, string? Description);
public sealed record BuiltInCorpusRequest(string? Corpus, string? DatasetId, int TokenizerVocab = 4096, double ValidationFraction = 0.02, string? Description = null);

/// <summary>
/// /api/v1/datasets: platform-wide datasets (any project may train on them). A version is built from uploaded files
/// (multipart) or a built-in corpus (Brown, a Brown genre, nlp-corpus); it is tokenised in the background, then Ready
/// and immutable. Creating needs the member role in some project.
/// </summary>
public static class DatasetsApi
{
    public static void MapDatasetsApi(this RouteGroupBuilder api, long maxUploadBytes)
    {
        var group = api.MapGroup("/datasets").WithTags("Datasets");

        group.MapGet("/", (ProjectAccess access, CancellationToken ct) => DatasetQueries.ListAsync(access, ct));

        group.MapPost("/", async (CreateDatasetRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var created = await DatasetQueries.CreateAsync(access, grains, request, ct);
            return Results.Created($"/api/v1/datasets/{created.DatasetId}", created);
        }).WithSummary("Create an empty dataset; add versions by upload or from a built-in corpus");

        group.MapGet("/{datasetId}", (string datasetId, IGrainFactory grains) => DatasetQueries.GetAsync(grains, datasetId))
            .WithSummary("A dataset with every version: state (preparing, ready, failed), token counts, content hash, error");

        group.MapGet("/{datasetId}/versions/{version:int}", (string datasetId, int version, IGrainFactory grains) =>
            DatasetQueries.GetVersionAsync(grains, datasetId, version));

        group.MapPost("/{datasetId}/versions", async (string datasetId, HttpRequest http, ProjectAccess access, IGrainFactory grains,
            IArtifactStore store, TimeProvider time, CancellationToken ct) =>
        {
            await DatasetQueries.RequireWritableAsync(access, grains, datasetId, ct); // 403, 404 before anything is read
            if (!http.HasFormContentType) throw new PlatformException("files", "send multipart/form-data with one or more 'files' (text or JSON lines)");
            var form = await ReadFormAsync(http, ct);
            var upload = new DatasetUpload(
                form.Files.GetFiles("files").Select(Upload).ToList(),
                form.Files.GetFile("tokenizer") is { } tokenizer ? Upload(tokenizer) : null,
                OptionalInt(form["tokenizer_vocab"], "tokenizer_vocab"),
                OptionalDouble(form["validation_fraction"], "validation_fraction"));
            var version = await DatasetQueries.UploadVersionAsync(access, grains, store, time, datasetId, upload, ct);
            return Results.Accepted($"/api/v1/datasets/{datasetId}/versions/{version.Version}", version);
        }).WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(maxUploadBytes)) // instead of the API's small limit
          .DisableAntiforgery()
          .WithSummary("Upload files (multipart 'files'; optional 'tokenizer' file, else 'tokenizer_vocab' for a new BPE) as the next version");

        group.MapPost("/builtin", async (BuiltInCorpusRequest request, ProjectAccess access, IGrainFactory grains, IArtifactStore store,
            IOptions<WebOptions> options, TimeProvider time, CancellationToken ct) =>
        {
            var version = await DatasetQueries.RegisterBuiltInAsync(access, grains, store, time, options.Value.CorporaDirectory, request, ct);
            return Results.Accepted($"/api/v1/datasets/{version.DatasetId}/versions/{version.Version}", version);
        }).WithSummary("Register a built-in corpus (brown, brown/news, ..., nlp-corpus) as the next version of a dataset");
    }

    /// <summary>The dataset, created with <paramref name="description"/> when it does not exist yet.</summary>
    public static Task<DatasetSnapshot> GetOrCreateAsync(IDatasetGrain dataset, string description) => DatasetQueries.GetOrCreateAsync(dataset, description);

    /// <summary>Uploads one local file (a built-in corpus) and registers it as the dataset's next version with a new BPE.</summary>
    public static Task<DatasetVersionSnapshot> AddFileVersionAsync(IDatasetGrain dataset, string datasetId, string file, int tokenizerVocab,
        double validationFraction, IArtifactStore store, TimeProvider time, CancellationToken ct) =>
        DatasetQueries.AddFileVersionAsync(dataset, datasetId, file, tokenizerVocab, validationFraction, store, time, ct);

    /// <summary>The JSON-lines file of a built-in corpus, as `moe-trainer data corpora` wrote it.</summary>
    public static string BuiltInCorpusFile(string corporaDirectory, string corpus) => DatasetQueries.BuiltInCorpusFile(corporaDirectory, corpus);

    /// <summary>The file's own name, checked: no folders, only characters that are safe in an artifact key.</summary>
    public static string SafeFileName(string fileName, string field) => DatasetQueries.SafeFileName(fileName, field);

    static DatasetUploadFile Upload(IFormFile file) => new(file.FileName, _ => file.OpenReadStream());

    /// <summary>The multipart form; one without a boundary, or cut short, is a 400 saying so (an oversized one stays a 413).</summary>
    static async Task<IFormCollection> ReadFormAsync(HttpRequest http, CancellationToken ct)
    {
        try
        {
            return await http.ReadFormAsync(ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not BadHttpRequestException)
        {
            throw new PlatformException("files", $"the multipart/form-data body could not be read: {e.Message}");
        }
    }

    static int? OptionalInt(string? text, string field) =>
        string.IsNullOrWhiteSpace(text) ? null
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
            : throw new PlatformException(field, $"'{text}' is not a whole number");

    static double? OptionalDouble(string? text, string field) =>
        string.IsNullOrWhiteSpace(text) ? null
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value
            : throw new PlatformException(field, $"'{text}' is not a finite number");
}
