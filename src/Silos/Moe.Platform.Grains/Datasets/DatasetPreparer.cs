using System.Text.RegularExpressions;
using Moe.Model.Data;
using Moe.Model.Tokenization;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Grains.Datasets;

/// <summary>
/// Builds one dataset version, as <c>moe-trainer tokenizer train</c> and <c>data prepare</c> would: downloads the
/// sources into a private work folder (each checked against the SHA-256 it was registered with), loads or trains the
/// byte-level BPE tokenizer, tokenises with <see cref="TokenDataset.Prepare"/> and uploads the folder under the
/// version's prefix (<see cref="DatasetLayout"/>). Pure C# (no libtorch); CPU-bound, so callers run it off the grain
/// scheduler. Running a job again overwrites the prefix with the same bytes. The work folder is always removed.
/// </summary>
public sealed partial class DatasetPreparer
{
    private readonly IArtifactStore _store;
    private readonly SemaphoreSlim _slots;
    private readonly int _slotCount;

    /// <param name="workRoot">Where work folders are made (the system temp folder by default).</param>
    /// <param name="maxConcurrent">Preparations running at once; more wait, so tokenising cannot take every core.</param>
    public DatasetPreparer(IArtifactStore store, string? workRoot = null, int? maxConcurrent = null)
    {
        _store = store;
        WorkRoot = Path.GetFullPath(workRoot ?? Path.GetTempPath());
        _slotCount = Math.Max(1, maxConcurrent ?? Environment.ProcessorCount / 2);
        _slots = new SemaphoreSlim(_slotCount);
    }

    /// <summary>
    /// Holds every preparation slot until disposed: nothing new starts meanwhile, and what was asked for starts after
    /// (maintenance, and tests that must see a version still Preparing).
    /// </summary>
    public async Task<IAsyncDisposable> PauseAsync(CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < _slotCount; i++) await _slots.WaitAsync(cancellationToken);
        return new Resume(() => _slots.Release(_slotCount));
    }

    private sealed class Resume(Action release) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) release();
            return ValueTask.CompletedTask;
        }
    }

    public string WorkRoot { get; }

    /// <summary>
    /// Prepares and uploads <paramref name="job"/>. Throws <see cref="DatasetPreparationException"/> with a one-line
    /// reason (naming artifact keys, not local paths), or <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public async Task<DatasetPreparationResult> PrepareAsync(DatasetPreparationJob job, CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken);
        var work = Path.Combine(WorkRoot, $"moe-dataset-{job.DatasetId}-v{job.Version}-{Guid.NewGuid():N}");
        var keysByPath = new Dictionary<string, string>(StringComparer.Ordinal); // to name artifact keys in errors
        try
        {
            Directory.CreateDirectory(work);
            var sources = await DownloadSourcesAsync(job, work, keysByPath, cancellationToken);
            var tokenizer = await GetTokenizerAsync(job, sources, work, keysByPath, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();

            var output = Path.Combine(work, "prepared");
            var manifest = TokenDataset.Prepare(sources, tokenizer, output, new PrepareOptions
            {
                // As the CLI prepares: end-of-text between documents, seed 0.
                ValidationFraction = job.ValidationFraction, DocumentSeparator = SpecialTokens.EosId,
                Clock = new FixedClock(job.CreatedAt), // a re-run writes the same manifest bytes
            });
            // Sources named by artifact key rather than this silo's temp path: the manifest then says where the data
            // came from, and stays the same on a re-run (the content hash covers the shards only).
            manifest = manifest with { Sources = [.. manifest.Sources.Select(s => s with { Name = keysByPath[s.Name] })] };
            await File.WriteAllTextAsync(Path.Combine(output, DatasetManifest.FileName), manifest.ToJson(), cancellationToken);
            tokenizer.Save(Path.Combine(output, DatasetLayout.TokenizerFileName));

            var tokenizerSha256 = await UploadAsync(job.ArtifactPrefix, output, manifest, cancellationToken);
            return new DatasetPreparationResult(
                manifest.ContentHash, manifest.Train.Tokens, manifest.Validation.Tokens, tokenizerSha256, manifest.VocabularyHash);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new DatasetPreparationException(Describe(e, keysByPath, work), e);
        }
        finally
        {
            TryDelete(work);
            _slots.Release();
        }
    }

    private async Task<List<string>> DownloadSourcesAsync(
        DatasetPreparationJob job, string work, Dictionary<string, string> keysByPath, CancellationToken cancellationToken)
    {
        var paths = new List<string>();
        for (var i = 0; i < job.Sources.Count; i++)
        {
            var source = job.Sources[i];
            // A folder per source keeps the file name (the format and the validation split go by it) without clashes.
            var path = Path.Combine(work, "sources", i.ToString("D3"), FileNameOf(source.ArtifactKey));
            keysByPath[path] = source.ArtifactKey;
            var stored = await _store.DownloadToFileAsync(source.ArtifactKey, path, cancellationToken);
            // The store checked the bytes against its record; the record must still be what was registered.
            if (stored.Sha256 != source.Sha256)
                throw new DatasetPreparationException(
                    $"{source.ArtifactKey}: stored SHA-256 is now {stored.Sha256}, the version was registered with {source.Sha256} (the artifact was overwritten)");
            paths.Add(path);
        }
        return paths;
    }

    private async Task<BpeTokenizer> GetTokenizerAsync(DatasetPreparationJob job, List<string> sources, string work,
        Dictionary<string, string> keysByPath, CancellationToken cancellationToken)
    {
        if (job.TokenizerKey is { } key)
        {
            var path = Path.Combine(work, "tokenizer", FileNameOf(key));
            keysByPath[path] = key;
            await _store.DownloadToFileAsync(key, path, cancellationToken);
            return BpeTokenizer.Load(path);
        }
        var vocab = job.TrainTokenizerVocab ?? throw new DatasetPreparationException("neither a tokenizer key nor a vocabulary size to train");
        var texts = sources.SelectMany(DocumentReader.Read).Select(d => d.Text).ToList();
        return BpeTokenizer.Train(texts, vocab);
    }

    /// <summary>Shards and tokenizer first, the manifest last; then leftovers of an earlier attempt go. Returns the tokenizer's SHA-256.</summary>
    private async Task<string> UploadAsync(string prefix, string folder, DatasetManifest manifest, CancellationToken cancellationToken)
    {
        var shardHashes = manifest.Train.Shards.Concat(manifest.Validation.Shards).ToDictionary(s => s.File, s => s.Sha256);
        var files = Directory.GetFiles(folder).Select(Path.GetFileName).OfType<string>()
            .Where(name => name != DatasetManifest.FileName).Order(StringComparer.Ordinal)
            .Append(DatasetManifest.FileName);
        var uploaded = new HashSet<string>(StringComparer.Ordinal);
        var tokenizerSha256 = "";
        foreach (var name in files)
        {
            var info = await _store.UploadFileAsync(prefix + name, Path.Combine(folder, name), cancellationToken);
            if (shardHashes.TryGetValue(name, out var expected) && expected != info.Sha256)
                throw new IOException($"{info.Key} was stored with SHA-256 {info.Sha256}, the manifest says {expected}");
            if (name == DatasetLayout.TokenizerFileName) tokenizerSha256 = info.Sha256;
            uploaded.Add(info.Key);
        }

        var stale = new List<string>();
        await foreach (var artifact in _store.ListAsync(prefix, cancellationToken))
            if (!uploaded.Contains(artifact.Key)) stale.Add(artifact.Key);
        foreach (var key in stale) await _store.DeleteAsync(key, cancellationToken);
        return tokenizerSha256;
    }

    /// <summary>One line, artifact keys instead of local paths, at most 1,000 characters.</summary>
    internal static string Describe(Exception e, IReadOnlyDictionary<string, string> keysByPath, string work)
    {
        var message = e is DatasetPreparationException or DataException or InvalidDataException or FileNotFoundException
            ? e.Message
            : $"{e.GetType().Name}: {e.Message}";
        foreach (var (path, key) in keysByPath.OrderByDescending(p => p.Key.Length)) message = message.Replace(path, key);
        message = Whitespace().Replace(message.Replace(work, "<work>"), " ").Trim();
        return message.Length <= 1000 ? message : message[..997] + "...";
    }

    private static string FileNameOf(string key) => key[(key.LastIndexOf('/') + 1)..];

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
