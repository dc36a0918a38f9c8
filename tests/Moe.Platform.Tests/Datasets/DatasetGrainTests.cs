using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Moe.Model.Data;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Datasets;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Tests.Grains;
using static Moe.Platform.Tests.Grains.PlatformCluster;

namespace Moe.Platform.Tests.Datasets;

/// <summary>The Dataset grain on the real stack: EF Core storage with its projection, a local artifact store.</summary>
public sealed class DatasetGrainTests(DatabaseCluster platform) : IClassFixture<DatabaseCluster>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private IDatasetGrain Dataset(string id) => platform.Client.GetDataset(id);

    private async Task<(string Id, IDatasetGrain Grain)> CreateAsync(string name)
    {
        var id = NewId(name);
        var grain = Dataset(id);
        await grain.CreateAsync($"{name} corpus");
        return (id, grain);
    }

    private static async Task<DatasetVersionSnapshot> WaitUntilPreparedAsync(IDatasetGrain grain, int version)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var current = (await grain.GetAsync()).Versions.Single(v => v.Version == version);
            if (current.State != DatasetVersionState.Preparing) return current;
            Assert.True(DateTime.UtcNow < deadline, $"version {version} still preparing after 60 s");
            await Task.Delay(50, Token);
        }
    }

    private async Task<List<DatasetVersion>> VersionRowsAsync(string id)
    {
        await using var db = platform.NewContext();
        return await db.DatasetVersions.AsNoTracking().Where(v => v.DatasetId == id).OrderBy(v => v.Version).ToListAsync(Token);
    }

    [Fact]
    public async Task A_registered_corpus_becomes_a_ready_version_whose_files_verify()
    {
        var (id, grain) = await CreateAsync("corpus");
        var source = await DatasetCorpus.UploadJsonLinesAsync(platform.Artifacts, id, lines: 300);

        var added = await grain.AddVersionAsync(DatasetCorpus.TrainSmall(source));
        Assert.Equal((1, DatasetVersionState.Preparing, $"datasets/{id}/v1/"), (added.Version, added.State, added.ArtifactPrefix));
        Assert.Equal([source], added.Sources);

        var ready = await WaitUntilPreparedAsync(grain, 1);
        Assert.True(ready.State == DatasetVersionState.Ready, ready.Error);
        Assert.True(ready is { TrainTokens: > 0, ValidationTokens: > 0, ReadyAt: not null }, $"{ready}");
        var download = Directory.CreateTempSubdirectory("moe-dataset-download-").FullName;
        try
        {
            await DatasetLayout.DownloadVerifiedAsync(platform.Artifacts, ready.ArtifactPrefix, ready.ContentHash!, download, Token);
            var verified = TokenDataset.Verify(download);
            Assert.Equal(ready.ContentHash, verified.ContentHash);
            Assert.Equal((ready.TrainTokens, ready.ValidationTokens), (verified.Train.Tokens, verified.Validation.Tokens));
            Assert.Equal(ready.TokenizerSha256, TokenDataset.Sha256Hex(File.ReadAllBytes(Path.Combine(download, "tokenizer.json"))));
        }
        finally
        {
            Directory.Delete(download, recursive: true);
        }

        var row = Assert.Single(await VersionRowsAsync(id));
        Assert.Equal((DatasetVersionStatus.Ready, ready.ContentHash, ready.TrainTokens + ready.ValidationTokens, ready.TokenizerSha256),
            (row.Status, row.ContentHash, row.TokenCount, row.TokenizerSha256));
        Assert.Equal(ready.ArtifactPrefix, row.ArtifactPrefix);
        await using (var db = platform.NewContext())
        {
            var datasetRow = await db.Datasets.AsNoTracking().SingleAsync(d => d.Id == id, Token);
            Assert.Equal((id, "corpus corpus"), (datasetRow.Name, datasetRow.Description));
        }
        Assert.Equivalent(ready, await grain.ResolveForRunAsync(null), strict: true);
        Assert.Equivalent(ready, await grain.ResolveForRunAsync(1), strict: true);

        var second = await grain.AddVersionAsync(DatasetCorpus.TrainSmall(source) with { ValidationFraction = 0 });
        Assert.Equal(2, second.Version);
        var secondReady = await WaitUntilPreparedAsync(grain, 2);
        Assert.Equal(DatasetVersionState.Ready, secondReady.State);
        Assert.Equal(0, secondReady.ValidationTokens);
        Assert.Equal(2, (await grain.ResolveForRunAsync(null)).Version);
        Assert.Equivalent(new[] { ready, secondReady }, (await grain.GetAsync()).Versions, strict: true);
        Assert.Equal(ready.ContentHash, (await VersionRowsAsync(id))[0].ContentHash); // the Ready row was left alone
    }

    [Fact]
    public async Task Refused_requests_save_no_version_and_no_row()
    {
        var (id, grain) = await CreateAsync("refused");
        var source = await DatasetCorpus.UploadJsonLinesAsync(platform.Artifacts, id, lines: 20);
        var missing = new DatasetSource($"uploads/{id}/missing.jsonl", source.Sha256);
        var wrongSha = source with { Sha256 = new string('0', 64) };

        var refusals = new (DatasetVersionRequest Request, string Field)[]
        {
            (DatasetCorpus.TrainSmall(source, wrongSha with { ArtifactKey = source.ArtifactKey + ".copy" }), "sources[1].artifact_key"),
            (DatasetCorpus.TrainSmall(wrongSha), "sources[0].sha256"),
            (DatasetCorpus.TrainSmall(source, missing), "sources[1].artifact_key"),
            (DatasetCorpus.TrainSmall(), "sources"),
            (new DatasetVersionRequest([source]), "tokenizer_key"),
            (new DatasetVersionRequest([source], TokenizerKey: source.ArtifactKey, TrainTokenizerVocab: 300), "tokenizer_key"),
            (new DatasetVersionRequest([source], TokenizerKey: $"tokenizers/{id}/tokenizer.json"), "tokenizer_key"),
            (new DatasetVersionRequest([source], TrainTokenizerVocab: 100), "train_tokenizer_vocab"),
            (DatasetCorpus.TrainSmall(source) with { ValidationFraction = 0.6 }, "validation_fraction"),
        };
        foreach (var (request, field) in refusals)
        {
            var e = await Assert.ThrowsAsync<PlatformException>(() => grain.AddVersionAsync(request));
            Assert.Equal(field, e.Field);
        }

        Assert.Empty((await grain.GetAsync()).Versions);
        Assert.Empty(await VersionRowsAsync(id));
        Assert.Equal(1, (await grain.AddVersionAsync(DatasetCorpus.TrainSmall(source))).Version); // numbering starts at 1
        await WaitUntilPreparedAsync(grain, 1);
    }

    [Fact]
    public async Task A_corrupt_source_fails_the_version_with_the_line_at_fault()
    {
        var (id, grain) = await CreateAsync("corrupt");
        var lines = DatasetCorpus.JsonLines(50).Split('\n');
        lines[6] = "not json at all";
        var source = await DatasetCorpus.UploadAsync(platform.Artifacts, $"uploads/{id}/broken.jsonl", string.Join('\n', lines));

        await grain.AddVersionAsync(DatasetCorpus.TrainSmall(source));
        var failed = await WaitUntilPreparedAsync(grain, 1);

        Assert.Equal(DatasetVersionState.Failed, failed.State);
        Assert.StartsWith($"{source.ArtifactKey}:7: invalid JSON", failed.Error);
        Assert.Null(failed.ContentHash);
        var row = Assert.Single(await VersionRowsAsync(id));
        Assert.Equal((DatasetVersionStatus.Failed, failed.Error), (row.Status, row.Error));
        var resolve = await Assert.ThrowsAsync<PlatformException>(() => grain.ResolveForRunAsync(1));
        Assert.Equal("data.datasets", resolve.Field);
        Assert.Contains("failed to prepare", resolve.Problem);
        Assert.Contains($"{source.ArtifactKey}:7", resolve.Problem);
        var none = await Assert.ThrowsAsync<PlatformException>(() => grain.ResolveForRunAsync(null));
        Assert.Equal($"dataset '{id}' has no ready version", none.Problem);
    }

    [Fact]
    public async Task A_version_still_preparing_is_refused_to_runs_and_survives_deactivation()
    {
        var (id, grain) = await CreateAsync("slow");
        var source = await DatasetCorpus.UploadJsonLinesAsync(platform.Artifacts, id, lines: 2_000, seed: 3);
        // The silo's preparer is paused, so the calls below find the version Preparing whatever the machine's speed.
        var preparer = ((InProcessSiloHandle)platform.Cluster.Silos[0]).SiloHost.Services.GetRequiredService<DatasetPreparer>();
        var pause = await preparer.PauseAsync(TestContext.Current.CancellationToken);

        await grain.AddVersionAsync(new DatasetVersionRequest([source], TrainTokenizerVocab: 2048));
        var row = Assert.Single(await VersionRowsAsync(id));
        Assert.Equal((DatasetVersionStatus.Preparing, $"datasets/{id}/v1/", null), (row.Status, row.ArtifactPrefix, row.ContentHash));
        Assert.Equal($$"""[{"artifact_key":"{{source.ArtifactKey}}","sha256":"{{source.Sha256}}"}]""", row.SourcesJson);
        var e = await Assert.ThrowsAsync<PlatformException>(() => grain.ResolveForRunAsync(1));
        Assert.Equal(("data.datasets", $"dataset '{id}' version 1 is still preparing"), (e.Field, e.Problem));
        var none = await Assert.ThrowsAsync<PlatformException>(() => grain.ResolveForRunAsync(null));
        Assert.Contains("has no ready version", none.Problem);

        // Deactivation stops the preparation; the next activation finds the version Preparing and starts it again.
        await platform.Cluster.DeactivateAsync(grain);
        Assert.Equal(DatasetVersionStatus.Preparing, Assert.Single(await VersionRowsAsync(id)).Status);
        await pause.DisposeAsync();
        var ready = await WaitUntilPreparedAsync(grain, 1);
        Assert.True(ready.State == DatasetVersionState.Ready, ready.Error);
        Assert.Equal(DatasetVersionStatus.Ready, Assert.Single(await VersionRowsAsync(id)).Status);
    }

    [Fact]
    public async Task Unknown_duplicate_and_malformed_datasets_are_refused()
    {
        var unknown = Dataset(NewId("unknown"));
        Assert.Contains("not found", (await Assert.ThrowsAsync<PlatformException>(() => unknown.GetAsync())).Problem);
        var add = await Assert.ThrowsAsync<PlatformException>(() => unknown.AddVersionAsync(DatasetCorpus.TrainSmall()));
        Assert.Equal("dataset_id", add.Field);
        var resolve = await Assert.ThrowsAsync<PlatformException>(() => unknown.ResolveForRunAsync(null));
        Assert.Equal("data.datasets", resolve.Field);
        Assert.Contains("not found", resolve.Problem);

        var (_, grain) = await CreateAsync("twice");
        var again = await Assert.ThrowsAsync<PlatformException>(() => grain.CreateAsync(null));
        Assert.Equal("dataset_id", again.Field);
        Assert.Contains("already exists", again.Problem);
        var missingVersion = await Assert.ThrowsAsync<PlatformException>(() => grain.ResolveForRunAsync(3));
        Assert.Contains("version 3 not found", missingVersion.Problem);

        var malformed = await Assert.ThrowsAsync<PlatformException>(() => Dataset("Not A Valid Id").CreateAsync(null));
        Assert.Equal("dataset_id", malformed.Field);
    }
}
