using Microsoft.EntityFrameworkCore;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Datasets;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Security;

namespace Moe.Web.Queries;

/// <summary>One file of an upload: the name the uploader gave it and how to open it (once) for reading.</summary>
public sealed record DatasetUploadFile(string FileName, Func<CancellationToken, Stream> Open);

/// <summary>
/// What makes a new dataset version from uploaded files: the sources (text or JSON lines), optionally a tokenizer.json
/// (else a new BPE of <paramref name="TokenizerVocab"/>, 4096 when absent) and the validation share (0.05 when absent).
/// </summary>
public sealed record DatasetUpload(IReadOnlyList<DatasetUploadFile> Files, DatasetUploadFile? Tokenizer = null, int? TokenizerVocab = null,
    double? ValidationFraction = null);

/// <summary>
/// The reads and writes behind the datasets API and the portal's dataset pages. Datasets are platform-wide: every
/// signed-in user reads them; creating one, uploading a version or registering a built-in corpus needs the member role
/// in some project.
/// </summary>
public static class DatasetQueries
{
    public const int DefaultTokenizerVocab = 4096;
    public const double DefaultValidationFraction = 0.05;

    public static async Task<List<DatasetSummary>> ListAsync(ProjectAccess access, CancellationToken ct) =>
        await access.Db.Datasets.AsNoTracking().OrderBy(d => d.Id).Select(d => new DatasetSummary(d.Id, d.Description, d.CreatedAt, d.Versions.Count,
            d.Versions.Where(v => v.Status == DatasetVersionStatus.Ready).Max(v => (int?)v.Version),
            d.Versions.OrderByDescending(v => v.Version).Select(v => v.Status.ToString().ToLower()).FirstOrDefault(),
            d.Versions.Where(v => v.Status == DatasetVersionStatus.Ready).OrderByDescending(v => v.Version).Select(v => v.TokenCount).FirstOrDefault()))
            .ToListAsync(ct);

    /// <summary>A dataset with every version (404 when it does not exist).</summary>
    public static Task<DatasetSnapshot> GetAsync(IGrainFactory grains, string datasetId) => grains.GetDataset(datasetId).GetAsync();

    public static async Task<DatasetVersionSnapshot> GetVersionAsync(IGrainFactory grains, string datasetId, int version) =>
        (await GetAsync(grains, datasetId)).Versions.FirstOrDefault(v => v.Version == version)
            ?? throw PlatformException.NotFound("version", $"dataset '{datasetId}' has no version {version}");

    /// <summary>Whether the user may create datasets and add versions (the member role in some project).</summary>
    public static async Task<bool> CanWriteAsync(ProjectAccess access, CancellationToken ct) =>
        access.IsPlatformAdmin || (await access.RolesAsync(ct)).Values.Any(r => r >= ProjectRole.Member);

    public static async Task<DatasetSnapshot> CreateAsync(ProjectAccess access, IGrainFactory grains, CreateDatasetRequest request, CancellationToken ct)
    {
        await access.RequireMemberAnywhereAsync(ct);
        var id = PlatformIds.Require(request.Id, "id");
        return await grains.GetDataset(id).CreateAsync(TextRules.Description(request.Description, "description"));
    }

    /// <summary>403 unless the user may add versions, then 404 unless the dataset exists: checked before any byte is read.</summary>
    public static async Task RequireWritableAsync(ProjectAccess access, IGrainFactory grains, string datasetId, CancellationToken ct)
    {
        await access.RequireMemberAnywhereAsync(ct);
        await grains.GetDataset(datasetId).GetAsync();
    }

    /// <summary>
    /// Streams the files into the artifact store (checked names, no folders) and registers them as the dataset's next
    /// version, which is then tokenised in the background. The API's multipart upload and the portal's upload both come here.
    /// </summary>
    public static async Task<DatasetVersionSnapshot> UploadVersionAsync(ProjectAccess access, IGrainFactory grains, IArtifactStore store,
        TimeProvider time, string datasetId, DatasetUpload upload, CancellationToken ct)
    {
        await RequireWritableAsync(access, grains, datasetId, ct);
        if (upload.Files.Count == 0) throw new PlatformException("files", "give one or more files (text or JSON lines) in the 'files' field");
        var names = upload.Files.Select(f => SafeFileName(f.FileName, "files")).ToList(); // all checked before anything is stored
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count) throw new PlatformException("files", "two files have the same name");
        var validation = upload.ValidationFraction ?? DefaultValidationFraction;
        DatasetRequestValidator.RequireValidationFraction(validation, "validation_fraction");
        if (upload.Tokenizer is null) DatasetRequestValidator.RequireTrainVocab(upload.TokenizerVocab ?? DefaultTokenizerVocab, "tokenizer_vocab");
        var folder = UploadFolder(datasetId, time);
        var stored = new List<string>();
        try
        {
            var sources = new List<DatasetSource>();
            for (int i = 0; i < upload.Files.Count; i++)
            {
                await using var content = upload.Files[i].Open(ct);
                var info = await store.UploadAsync($"{folder}/{names[i]}", content, ct);
                stored.Add(info.Key);
                sources.Add(new DatasetSource(info.Key, info.Sha256));
            }
            string? tokenizerKey = null;
            if (upload.Tokenizer is { } tokenizer)
            {
                await using var content = tokenizer.Open(ct);
                tokenizerKey = (await store.UploadAsync($"{folder}/tokenizer.json", content, ct)).Key;
                stored.Add(tokenizerKey);
            }
            var vocab = tokenizerKey is null ? upload.TokenizerVocab ?? DefaultTokenizerVocab : (int?)null;
            return await grains.GetDataset(datasetId).AddVersionAsync(new DatasetVersionRequest(sources, tokenizerKey, vocab, validation));
        }
        catch
        {
            // A refused version (bad vocab, a clash) or a broken upload leaves nothing behind in the store.
            foreach (var key in stored) await store.DeleteAsync(key, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Registers a built-in corpus as the next version of a dataset (created when missing, named after the corpus unless given).</summary>
    public static async Task<DatasetVersionSnapshot> RegisterBuiltInAsync(ProjectAccess access, IGrainFactory grains, IArtifactStore store,
        TimeProvider time, string corporaDirectory, BuiltInCorpusRequest request, CancellationToken ct)
    {
        await access.RequireMemberAnywhereAsync(ct);
        var corpus = request.Corpus?.Trim().ToLowerInvariant() is { Length: > 0 } c ? c
            : throw new PlatformException("corpus", "is required: brown, brown/<genre> or nlp-corpus");
        var file = BuiltInCorpusFile(corporaDirectory, corpus);
        var id = PlatformIds.Require(string.IsNullOrWhiteSpace(request.DatasetId) ? corpus.Replace('/', '-') : request.DatasetId, "dataset_id");
        // Everything is checked before the first write: a refused request creates no dataset.
        DatasetRequestValidator.RequireTrainVocab(request.TokenizerVocab, "tokenizer_vocab");
        DatasetRequestValidator.RequireValidationFraction(request.ValidationFraction, "validation_fraction");
        var description = TextRules.Description(request.Description, "description") ?? $"built-in corpus {corpus}";
        var dataset = grains.GetDataset(id);
        await GetOrCreateAsync(dataset, description);
        return await AddFileVersionAsync(dataset, id, file, request.TokenizerVocab, request.ValidationFraction, store, time, ct);
    }

    /// <summary>The built-in corpora this server has (brown, brown/&lt;genre&gt;, nlp-corpus), in the order a list shows them.</summary>
    public static IReadOnlyList<string> BuiltInCorpora(string corporaDirectory)
    {
        var root = Path.GetFullPath(corporaDirectory);
        var found = new List<string>();
        if (File.Exists(Path.Combine(root, "brown.jsonl"))) found.Add("brown");
        var genres = Path.Combine(root, "brown");
        if (Directory.Exists(genres))
            found.AddRange(Directory.EnumerateFiles(genres, "*.jsonl").Select(f => "brown/" + Path.GetFileNameWithoutExtension(f))
                .Where(IsGenreName).Order(StringComparer.Ordinal));
        if (File.Exists(Path.Combine(root, "nlp-corpus.jsonl"))) found.Add("nlp-corpus");
        return found;
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
        try
        {
            return await dataset.AddVersionAsync(new DatasetVersionRequest([new DatasetSource(info.Key, info.Sha256)], null, tokenizerVocab, validationFraction));
        }
        catch
        {
            await store.DeleteAsync(info.Key, CancellationToken.None); // a refused version leaves no upload behind
            throw;
        }
    }

    /// <summary>The JSON-lines file of a built-in corpus, as `moe-trainer data corpora` wrote it.</summary>
    public static string BuiltInCorpusFile(string corporaDirectory, string corpus)
    {
        var root = Path.GetFullPath(corporaDirectory);
        string relative = corpus switch
        {
            "brown" => "brown.jsonl",
            "nlp-corpus" => "nlp-corpus.jsonl",
            _ when IsGenreName(corpus) => Path.Combine("brown", corpus[6..] + ".jsonl"),
            _ => throw new PlatformException("corpus", $"unknown corpus '{corpus}'; use brown, brown/<genre> (news, fiction, ...) or nlp-corpus"),
        };
        var file = Path.Combine(root, relative);
        return File.Exists(file) ? file
            : throw new PlatformException("corpus", $"'{corpus}' is not on this server ({file} is missing); ./platform setup fetches and converts the corpora");
    }

    /// <summary>The file's own name, checked: no folders, only characters that are safe in an artifact key.</summary>
    public static string SafeFileName(string fileName, string field)
    {
        var name = Path.GetFileName(fileName.Replace('\\', '/'));
        if (name.Length is 0 or > 200 || name.StartsWith('.') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new PlatformException(field, $"'{fileName}' is not an acceptable file name (letters, digits, '.', '-', '_'; at most 200)");
        return name;
    }

    // "brown/news", "brown/science_fiction": lower-case letters and '_' only, so never a path outside the corpora.
    static bool IsGenreName(string corpus) =>
        corpus.StartsWith("brown/", StringComparison.Ordinal) && corpus.Length > 6 && corpus[6..].All(c => char.IsAsciiLetterLower(c) || c == '_');

    static string UploadFolder(string datasetId, TimeProvider time) =>
        $"datasets/{datasetId}/uploads/{time.GetUtcNow():yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..^24];
}
