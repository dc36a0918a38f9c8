using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Moe.Platform;
using Moe.Platform.Datasets;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record DatasetSummary(string Id, string? Description, DateTime CreatedAt, int Versions, int? LatestReadyVersion, string? LatestStatus);
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

        group.MapGet("/", async (PlatformDb db, CancellationToken ct) =>
            await db.Datasets.AsNoTracking().OrderBy(d => d.Id).Select(d => new DatasetSummary(d.Id, d.Description, d.CreatedAt, d.Versions.Count,
                d.Versions.Where(v => v.Status == DatasetVersionStatus.Ready).Max(v => (int?)v.Version),
                d.Versions.OrderByDescending(v => v.Version).Select(v => v.Status.ToString().ToLower()).FirstOrDefault())).ToListAsync(ct));

        group.MapPost("/", async (CreateDatasetRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            await access.RequireMemberAnywhereAsync(ct);
            var id = PlatformIds.Require(request.Id, "id");
            var created = await grains.GetDataset(id).CreateAsync(request.Description?.Trim());
            return Results.Created($"/api/v1/datasets/{id}", created);
        }).WithSummary("Create an empty dataset; add versions by upload or from a built-in corpus");

        group.MapGet("/{datasetId}", async (string datasetId, IGrainFactory grains) => await grains.GetDataset(datasetId).GetAsync())
            .WithSummary("A dataset with every version: state (preparing, ready, failed), token counts, content hash, error");

        group.MapGet("/{datasetId}/versions/{version:int}", async (string datasetId, int version, IGrainFactory grains) =>
            (await grains.GetDataset(datasetId).GetAsync()).Versions.FirstOrDefault(v => v.Version == version)
                ?? throw PlatformException.NotFound("version", $"dataset '{datasetId}' has no version {version}"));

        group.MapPost("/{datasetId}/versions", async (string datasetId, HttpRequest http, ProjectAccess access, IGrainFactory grains,
            IArtifactStore store, TimeProvider time, CancellationToken ct) =>
        {
            await access.RequireMemberAnywhereAsync(ct);
            var dataset = grains.GetDataset(datasetId);
            await dataset.GetAsync(); // 404 before anything is uploaded
            if (!http.HasFormContentType) throw new PlatformException("files", "send multipart/form-data with one or more 'files' (text or JSON lines)");
            var form = await http.ReadFormAsync(ct);
            var files = form.Files.GetFiles("files");
            if (files.Count == 0) throw new PlatformException("files", "give one or more files (text or JSON lines) in the 'files' field");
            var vocab = OptionalInt(form["tokenizer_vocab"], "tokenizer_vocab");
            var validation = OptionalDouble(form["validation_fraction"], "validation_fraction") ?? 0.05;
            var folder = UploadFolder(datasetId, time);
            var sources = new List<DatasetSource>();
            foreach (var file in files)
            {
                var name = SafeFileName(file.FileName, "files");
                await using var content = file.OpenReadStream();
                var info = await store.UploadAsync($"{folder}/{name}", content, ct);
                sources.Add(new DatasetSource(info.Key, info.Sha256));
            }
            string? tokenizerKey = null;
            if (form.Files.GetFile("tokenizer") is { } tokenizer)
            {
                await using var content = tokenizer.OpenReadStream();
                tokenizerKey = (await store.UploadAsync($"{folder}/tokenizer.json", content, ct)).Key;
            }
            else vocab ??= 4096;
            var version = await dataset.AddVersionAsync(new DatasetVersionRequest(sources, tokenizerKey, tokenizerKey is null ? vocab : null, validation));
            return Results.Accepted($"/api/v1/datasets/{datasetId}/versions/{version.Version}", version);
        }).WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(maxUploadBytes)) // instead of the API's small limit
          .DisableAntiforgery()
          .WithSummary("Upload files (multipart 'files'; optional 'tokenizer' file, else 'tokenizer_vocab' for a new BPE) as the next version");

        group.MapPost("/builtin", async (BuiltInCorpusRequest request, ProjectAccess access, IGrainFactory grains, IArtifactStore store,
            IOptions<WebOptions> options, TimeProvider time, CancellationToken ct) =>
        {
            await access.RequireMemberAnywhereAsync(ct);
            var corpus = request.Corpus?.Trim().ToLowerInvariant() ?? throw new PlatformException("corpus", "is required: brown, brown/<genre> or nlp-corpus");
            var file = BuiltInCorpusFile(options.Value.CorporaDirectory, corpus);
            var id = PlatformIds.Require(request.DatasetId ?? corpus.Replace('/', '-'), "dataset_id");
            var dataset = grains.GetDataset(id);
            await GetOrCreateAsync(dataset, request.Description ?? $"built-in corpus {corpus}");
            var version = await AddFileVersionAsync(dataset, id, file, request.TokenizerVocab, request.ValidationFraction, store, time, ct);
            return Results.Accepted($"/api/v1/datasets/{id}/versions/{version.Version}", version);
        }).WithSummary("Register a built-in corpus (brown, brown/news, ..., nlp-corpus) as the next version of a dataset");
    }

    /// <summary>The dataset, created with <paramref name="description"/> when it does not exist yet.</summary>
    public static async Task<DatasetSnapshot> GetOrCreateAsync(IDatasetGrain dataset, string description)
    {
        try
        {
            return await dataset.GetAsync();
        }
        catch (PlatformException e) when (e.Kind == PlatformErrorKind.NotFound)
        {
            return await dataset.CreateAsync(description);
        }
    }

    /// <summary>Uploads one local file (a built-in corpus) and registers it as the dataset's next version with a new BPE.</summary>
    public static async Task<DatasetVersionSnapshot> AddFileVersionAsync(IDatasetGrain dataset, string datasetId, string file, int tokenizerVocab,
        double validationFraction, IArtifactStore store, TimeProvider time, CancellationToken ct)
    {
        var info = await store.UploadFileAsync($"{UploadFolder(datasetId, time)}/{Path.GetFileName(file)}", file, ct);
        return await dataset.AddVersionAsync(new DatasetVersionRequest([new DatasetSource(info.Key, info.Sha256)], null, tokenizerVocab, validationFraction));
    }

    /// <summary>The JSON-lines file of a built-in corpus, as `moe-trainer data corpora` wrote it.</summary>
    public static string BuiltInCorpusFile(string corporaDirectory, string corpus)
    {
        var root = Path.GetFullPath(corporaDirectory);
        string relative = corpus switch
        {
            "brown" => "brown.jsonl",
            "nlp-corpus" => "nlp-corpus.jsonl",
            _ when corpus.StartsWith("brown/", StringComparison.Ordinal) && corpus.Length > 6 && corpus[6..].All(char.IsAsciiLetterLower)
                => Path.Combine("brown", corpus[6..] + ".jsonl"),
            _ => throw new PlatformException("corpus", $"unknown corpus '{corpus}'; use brown, brown/<genre> (news, fiction, ...) or nlp-corpus"),
        };
        var file = Path.Combine(root, relative);
        return File.Exists(file) ? file
            : throw new PlatformException("corpus", $"'{corpus}' is not on this server ({file} is missing); ./platform setup fetches and converts the corpora");
    }

    static string UploadFolder(string datasetId, TimeProvider time) =>
        $"datasets/{datasetId}/uploads/{time.GetUtcNow():yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..^24];

    /// <summary>The file's own name, checked: no folders, only characters that are safe in an artifact key.</summary>
    public static string SafeFileName(string fileName, string field)
    {
        var name = Path.GetFileName(fileName.Replace('\\', '/'));
        if (name.Length is 0 or > 200 || name.StartsWith('.') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new PlatformException(field, $"'{fileName}' is not an acceptable file name (letters, digits, '.', '-', '_'; at most 200)");
        return name;
    }

    static int? OptionalInt(string? text, string field) =>
        string.IsNullOrWhiteSpace(text) ? null
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
            : throw new PlatformException(field, $"'{text}' is not a whole number");

    static double? OptionalDouble(string? text, string field) =>
        string.IsNullOrWhiteSpace(text) ? null
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value
            : throw new PlatformException(field, $"'{text}' is not a number");
}
