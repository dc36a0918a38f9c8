using System.Text.Json;
using Microsoft.Extensions.Options;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Datasets;
using Moe.Platform.Tests.Runs;
using Orleans.Serialization;
using Orleans.Storage;

namespace Moe.Platform.Tests.Datasets;

/// <summary>The dataset's version rules and the request checks, as plain classes.</summary>
public sealed class DatasetRecordTests
{
    private static readonly DatasetSource Source = new("uploads/a.jsonl", new string('a', 64));
    private static readonly DatasetPreparationResult Result = new("hash", 100, 10, "tok", "tok");

    private readonly ManualClock _clock = new();

    private DatasetRecord NewDataset() => DatasetRecord.Create("ds", "d", _clock);

    [Fact]
    public void Versions_are_numbered_in_order_and_a_ready_one_never_changes()
    {
        var dataset = NewDataset();
        var v1 = dataset.AddVersion(DatasetCorpus.TrainSmall(Source), _clock);
        var v2 = dataset.AddVersion(DatasetCorpus.TrainSmall(Source), _clock);
        Assert.Equal((1, 2), (v1.Version, v2.Version));
        Assert.Equal([1, 2], dataset.Preparing.Select(v => v.Version));

        _clock.Advance(TimeSpan.FromMinutes(3));
        Assert.True(dataset.MarkReady(1, Result, _clock));
        var ready = dataset.Snapshot(dataset.Find(1)!);
        Assert.False(dataset.MarkReady(1, Result with { ContentHash = "other" }, _clock));
        Assert.False(dataset.MarkFailed(1, "late failure"));
        Assert.Equivalent(ready, dataset.Snapshot(dataset.Find(1)!), strict: true);
        Assert.Equal((DatasetVersionState.Ready, "hash", _clock.Now), (ready.State, ready.ContentHash, ready.ReadyAt));
        Assert.Equal("datasets/ds/v1/", ready.ArtifactPrefix);

        Assert.True(dataset.MarkFailed(2, "bad line"));
        Assert.False(dataset.MarkReady(2, Result, _clock));
        Assert.Equal(DatasetVersionState.Failed, dataset.Find(2)!.State);
        Assert.Equal(3, dataset.AddVersion(DatasetCorpus.TrainSmall(Source), _clock).Version);
    }

    [Fact]
    public void Changes_work_on_a_copy_until_saved()
    {
        var stored = NewDataset().ToState();

        var dataset = DatasetRecord.Restore("ds", stored);
        dataset.AddVersion(DatasetCorpus.TrainSmall(Source), _clock);
        dataset.MarkReady(1, Result, _clock);

        Assert.Empty(stored.Versions);
        Assert.Equal(DatasetVersionState.Ready, dataset.ToState().Versions.Single().State);
    }

    [Fact]
    public void Runs_get_the_newest_ready_version_or_a_clear_refusal()
    {
        var dataset = NewDataset();
        Assert.Equal("dataset 'ds' has no ready version", Refusal(() => dataset.ResolveForRun(null)));
        dataset.AddVersion(DatasetCorpus.TrainSmall(Source), _clock);
        dataset.AddVersion(DatasetCorpus.TrainSmall(Source), _clock);
        dataset.AddVersion(DatasetCorpus.TrainSmall(Source), _clock);
        dataset.MarkReady(1, Result, _clock);
        dataset.MarkFailed(3, "broken.jsonl:4: invalid JSON");

        Assert.Equal(1, dataset.ResolveForRun(null).Version); // 2 preparing, 3 failed
        Assert.Equal("dataset 'ds' version 2 is still preparing", Refusal(() => dataset.ResolveForRun(2)));
        Assert.Equal("dataset 'ds' version 3 failed to prepare: broken.jsonl:4: invalid JSON", Refusal(() => dataset.ResolveForRun(3)));
        Assert.Equal("dataset 'ds' version 4 not found", Refusal(() => dataset.ResolveForRun(4)));
        dataset.MarkReady(2, Result, _clock);
        Assert.Equal(2, dataset.ResolveForRun(null).Version);
    }

    private static string Refusal(Func<DatasetVersionSnapshot> resolve)
    {
        var e = Assert.Throws<PlatformException>(resolve);
        Assert.Equal("data.datasets", e.Field);
        return e.Problem;
    }

    [Theory]
    [InlineData("sources", 0, null, 300, 0.1)]
    [InlineData("tokenizer_key", 1, null, null, 0.1)]
    [InlineData("tokenizer_key", 1, "tokenizers/t.json", 300, 0.1)]
    [InlineData("tokenizer_key", 1, "../escape.json", null, 0.1)]
    [InlineData("train_tokenizer_vocab", 1, null, 266, 0.1)]
    [InlineData("train_tokenizer_vocab", 1, null, 1 << 18, 0.1)]
    [InlineData("validation_fraction", 1, null, 300, -0.1)]
    [InlineData("validation_fraction", 1, null, 300, 0.51)]
    [InlineData("validation_fraction", 1, null, 300, double.NaN)]
    public void Malformed_requests_are_refused_naming_the_field(string field, int sources, string? tokenizerKey, int? vocab, double validation)
    {
        var request = new DatasetVersionRequest([.. Enumerable.Repeat(Source, sources)], tokenizerKey, vocab, validation);

        Assert.Equal(field, Assert.Throws<PlatformException>(() => DatasetRequestValidator.ValidateShape(request)).Field);
    }

    [Theory]
    [InlineData("sources[1].artifact_key", "", null)]
    [InlineData("sources[1].sha256", "uploads/b.jsonl", "zz")]
    [InlineData("sources[1].artifact_key", "/absolute.jsonl", null)]
    [InlineData("sources[1].artifact_key", "uploads/a.jsonl", null)]
    public void Malformed_sources_are_refused_naming_their_index(string field, string key, string? sha256)
    {
        var second = new DatasetSource(key, sha256 ?? Source.Sha256);

        var e = Assert.Throws<PlatformException>(() => DatasetRequestValidator.ValidateShape(DatasetCorpus.TrainSmall(Source, second)));

        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Hashes_are_kept_in_lower_case()
    {
        var request = DatasetCorpus.TrainSmall(Source with { Sha256 = Source.Sha256.ToUpperInvariant() });

        Assert.Equal(Source, DatasetRequestValidator.ValidateShape(request).Sources.Single());
    }

    [Fact]
    public void Dataset_state_round_trips_through_the_storage_json()
    {
        var json = new SystemTextJsonGrainStorageSerializer(Options.Create(new SystemTextJsonGrainStorageSerializerOptions()));
        var state = new DatasetState
        {
            CreatedAt = DateTimeOffset.UnixEpoch, Description = "d",
            Versions = [new DatasetVersionEntry
            {
                Version = 1, State = DatasetVersionState.Ready, Sources = [new("uploads/a.jsonl", new string('a', 64))],
                TrainTokenizerVocab = 300, ValidationFraction = 0.1, CreatedAt = DateTimeOffset.UnixEpoch, ContentHash = "c",
                TrainTokens = 10, ValidationTokens = 2, TokenizerSha256 = "t", VocabularyHash = "t", ReadyAt = DateTimeOffset.UnixEpoch,
            }],
        };

        var back = json.Deserialize<DatasetState>(json.Serialize(state))!;

        Assert.Equal(JsonSerializer.Serialize(state), JsonSerializer.Serialize(back));
        Assert.Equal(state.Versions[0].Sources, back.Versions[0].Sources);
    }
}
