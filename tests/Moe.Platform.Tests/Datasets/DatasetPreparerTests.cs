using Moe.Model.Data;
using Moe.Model.Tokenization;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Datasets;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Tests.Datasets;

/// <summary><see cref="DatasetPreparer"/> on a local artifact store, without Orleans.</summary>
public sealed class DatasetPreparerTests : IDisposable
{
    private static readonly DateTimeOffset RegisteredAt = new(2025, 6, 1, 9, 30, 0, TimeSpan.Zero);

    private readonly string _root = Directory.CreateTempSubdirectory("moe-preparer-").FullName;
    private readonly LocalArtifactStore _store;
    private readonly DatasetPreparer _preparer;

    public DatasetPreparerTests()
    {
        _store = new LocalArtifactStore(Path.Combine(_root, "store"));
        _preparer = new DatasetPreparer(_store, Directory.CreateDirectory(Path.Combine(_root, "work")).FullName);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static DatasetPreparationJob Job(string prefix, IReadOnlyList<DatasetSource> sources, string? tokenizerKey = null,
        int? vocab = 300, double validation = 0.1) =>
        new("corpus", 1, prefix, sources, tokenizerKey, tokenizerKey is null ? vocab : null, validation, RegisteredAt);

    private async Task<Dictionary<string, string>> StoredAsync(string prefix)
    {
        var stored = new Dictionary<string, string>();
        await foreach (var artifact in _store.ListAsync(prefix, Token)) stored[artifact.Key[prefix.Length..]] = artifact.Sha256;
        return stored;
    }

    [Fact]
    public async Task Trains_a_tokenizer_and_uploads_a_folder_that_verifies_against_the_content_hash()
    {
        var source = await DatasetCorpus.UploadJsonLinesAsync(_store, "p1", lines: 300);

        var result = await _preparer.PrepareAsync(Job("datasets/corpus/v1/", [source]), Token);

        Assert.True(result.TrainTokens > 0 && result.ValidationTokens > 0, $"{result.TrainTokens} / {result.ValidationTokens}");
        Assert.Equal(result.VocabularyHash, result.TokenizerSha256); // the stored tokenizer.json is canonical
        var files = await StoredAsync("datasets/corpus/v1/");
        Assert.Equal(["manifest.json", "tokenizer.json", "train-00000.bin", "validation-00000.bin"], files.Keys.Order());
        Assert.Equal(result.TokenizerSha256, files["tokenizer.json"]);

        var download = Path.Combine(_root, "download");
        var manifest = await DatasetLayout.DownloadVerifiedAsync(_store, "datasets/corpus/v1/", result.ContentHash, download, Token);
        Assert.Equal(result.ContentHash, TokenDataset.Verify(download).ContentHash);
        Assert.Equal((result.TrainTokens, result.ValidationTokens), (manifest.Train.Tokens, manifest.Validation.Tokens));
        Assert.Equal(300, manifest.Train.Documents + manifest.Validation.Documents);
        Assert.Equal(300, manifest.VocabSize);
        Assert.Equal(RegisteredAt, manifest.Created);
        Assert.Equal(source.ArtifactKey, Assert.Single(manifest.Sources).Name); // not the silo's temp path
        Assert.Equal(result.VocabularyHash, BpeTokenizer.Load(Path.Combine(download, "tokenizer.json")).VocabularyHash);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_preparer.WorkRoot));
    }

    [Fact]
    public async Task Preparing_again_writes_the_same_bytes_and_removes_leftovers()
    {
        var source = await DatasetCorpus.UploadJsonLinesAsync(_store, "p2", lines: 120);
        var job = Job("datasets/corpus/v2/", [source]);
        var first = await _preparer.PrepareAsync(job, Token);
        var before = await StoredAsync(job.ArtifactPrefix);
        await DatasetCorpus.UploadAsync(_store, job.ArtifactPrefix + "train-00007.bin", "from an interrupted attempt");

        var second = await _preparer.PrepareAsync(job, Token);

        Assert.Equal(first, second);
        Assert.Equal(before, await StoredAsync(job.ArtifactPrefix));
    }

    [Fact]
    public async Task Uses_a_stored_tokenizer_and_keeps_the_text_and_source_formats()
    {
        var texts = DatasetCorpus.JsonLines(80).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var tokenizer = BpeTokenizer.Train(texts, 320);
        var tokenizerInfo = await _store.UploadAsync("tokenizers/t1/tokenizer.json", new MemoryStream(tokenizer.ToTokenizerJson()), Token);
        var jsonl = await DatasetCorpus.UploadJsonLinesAsync(_store, "p3", lines: 80);
        var text = await DatasetCorpus.UploadAsync(_store, "uploads/p3/notes.txt", "A plain text file is one document.\nIt has two lines.");

        var result = await _preparer.PrepareAsync(Job("datasets/corpus/v3/", [jsonl, text], tokenizerKey: tokenizerInfo.Key), Token);

        Assert.Equal(tokenizerInfo.Sha256, result.TokenizerSha256);
        Assert.Equal(tokenizer.VocabularyHash, result.VocabularyHash);
        var manifest = await DatasetLayout.DownloadVerifiedAsync(_store, "datasets/corpus/v3/", result.ContentHash, Path.Combine(_root, "d3"), Token);
        Assert.Equal(81, manifest.Train.Documents + manifest.Validation.Documents);
        Assert.Equal([jsonl.ArtifactKey, text.ArtifactKey], manifest.Sources.Select(s => s.Name));
    }

    [Fact]
    public async Task A_corrupt_line_fails_naming_the_artifact_key_and_line_and_uploads_nothing()
    {
        var lines = DatasetCorpus.JsonLines(10).Split('\n');
        lines[3] = """{"text": "unterminated""";
        var source = await DatasetCorpus.UploadAsync(_store, "uploads/p4/broken.jsonl", string.Join('\n', lines));

        var e = await Assert.ThrowsAsync<DatasetPreparationException>(() => _preparer.PrepareAsync(Job("datasets/corpus/v4/", [source]), Token));

        Assert.StartsWith("uploads/p4/broken.jsonl:4: invalid JSON", e.Message);
        Assert.DoesNotContain(_preparer.WorkRoot, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(await StoredAsync("datasets/corpus/v4/"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_preparer.WorkRoot));
    }

    [Fact]
    public async Task A_source_overwritten_since_registration_fails()
    {
        var registered = await DatasetCorpus.UploadJsonLinesAsync(_store, "p5", lines: 20);
        await DatasetCorpus.UploadAsync(_store, registered.ArtifactKey, DatasetCorpus.JsonLines(20, seed: 2));

        var e = await Assert.ThrowsAsync<DatasetPreparationException>(() => _preparer.PrepareAsync(Job("datasets/corpus/v5/", [registered]), Token));

        Assert.Contains($"{registered.ArtifactKey}: stored SHA-256 is now", e.Message);
        Assert.Contains(registered.Sha256, e.Message);
    }

    [Fact]
    public async Task A_file_that_is_no_tokenizer_fails_with_the_key()
    {
        var source = await DatasetCorpus.UploadJsonLinesAsync(_store, "p6", lines: 20);
        var bogus = await DatasetCorpus.UploadAsync(_store, "tokenizers/bogus/tokenizer.json", """{"model": 1}""");

        var e = await Assert.ThrowsAsync<DatasetPreparationException>(
            () => _preparer.PrepareAsync(Job("datasets/corpus/v6/", [source], tokenizerKey: bogus.ArtifactKey), Token));

        Assert.Contains("tokenizers/bogus/tokenizer.json", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_preparer.WorkRoot));
    }

    [Fact]
    public async Task Cancellation_is_not_reported_as_a_failure()
    {
        var source = await DatasetCorpus.UploadJsonLinesAsync(_store, "p7", lines: 20);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _preparer.PrepareAsync(Job("datasets/corpus/v7/", [source]), new CancellationToken(canceled: true)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_preparer.WorkRoot));
    }
}
