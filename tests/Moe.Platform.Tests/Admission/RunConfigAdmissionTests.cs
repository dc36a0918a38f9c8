using System.Text.Json.Nodes;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Runs;

namespace Moe.Platform.Tests.Admission;

/// <summary>The admission of a run config on its own: references pinned, the tokenizer defaulted and checked.</summary>
public sealed class RunConfigAdmissionTests
{
    private static DatasetVersionSnapshot Ready(string id, int version, string tokenizer) =>
        new(id, version, DatasetVersionState.Ready, $"datasets/{id}/v{version}/", [], "hash", 10, 1, tokenizer, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    /// <summary>Newest ready versions: brown 3 and wiki 1 share tokenizer "t1"; code 2 has "t2".</summary>
    private static Task<DatasetVersionSnapshot> Resolve(DatasetReference reference) => Task.FromResult(reference switch
    {
        { DatasetId: "brown", Version: null or 3 } => Ready("brown", 3, "t1"),
        { DatasetId: "brown", Version: 2 } => Ready("brown", 2, "t1"),
        { DatasetId: "wiki" } => Ready("wiki", 1, "t1"),
        { DatasetId: "code" } => Ready("code", 2, "t2"),
        _ => throw new PlatformException("data.datasets", $"dataset '{reference.DatasetId}' not found"),
    });

    private static string Config(string datasets, string? tokenizer = null) =>
        $$"""{ {{(tokenizer is null ? "" : $"\"tokenizer\": \"{tokenizer}\",")}} "data": { "datasets": [ {{datasets}} ] }, "training": { "steps": 100 } }""";

    [Fact]
    public async Task References_are_pinned_and_the_tokenizer_defaults_to_theirs()
    {
        var admitted = JsonNode.Parse(await RunConfigAdmission.AdmitAsync(
            Config("""{"name":"a","path":"dataset:brown"},{"name":"b","path":"dataset:wiki"},{"name":"c","path":"dataset:brown@2"}"""), Resolve))!;

        Assert.Equal(["dataset:brown@3", "dataset:wiki@1", "dataset:brown@2"],
            admitted["data"]!["datasets"]!.AsArray().Select(d => (string)d!["path"]!));
        Assert.Equal("dataset:brown@3", (string?)admitted["tokenizer"]);
    }

    [Fact]
    public async Task Datasets_prepared_with_another_tokenizer_are_refused()
    {
        var refused = await Assert.ThrowsAsync<PlatformException>(() => RunConfigAdmission.AdmitAsync(
            Config("""{"name":"a","path":"dataset:brown"},{"name":"b","path":"dataset:code"}"""), Resolve));
        Assert.Equal("config.data.datasets[1].path", refused.Field);
        Assert.Contains("another tokenizer", refused.Problem);

        refused = await Assert.ThrowsAsync<PlatformException>(() => RunConfigAdmission.AdmitAsync(
            Config("""{"name":"a","path":"dataset:brown"}""", tokenizer: "dataset:code"), Resolve));
        Assert.Equal("config.data.datasets[0].path", refused.Field);
    }

    [Fact]
    public async Task Plain_paths_pass_through_and_the_trainer_validation_still_applies()
    {
        var config = Config("""{"name":"a","path":"/data/brown"}""", tokenizer: "/data/tokenizer.json");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(config), JsonNode.Parse(await RunConfigAdmission.AdmitAsync(config, Resolve))));

        var refused = await Assert.ThrowsAsync<PlatformException>(() => RunConfigAdmission.AdmitAsync(Config("""{"name":"a","path":"/data/brown"}"""), Resolve));
        Assert.Equal("config.tokenizer", refused.Field); // no reference to take it from, and none given
    }

    [Fact]
    public async Task A_key_given_twice_is_refused_naming_it()
    {
        // The API refuses it in the body; a config reaching the grain another way (a client, moe-silo launch) is checked too.
        var refused = await Assert.ThrowsAsync<PlatformException>(() => RunConfigAdmission.AdmitAsync(
            """{"training": {"steps": 100}, "data": {"datasets": []}, "training": {"steps": 5}}""", Resolve));
        Assert.Equal("config", refused.Field);
        Assert.Contains("training", refused.Problem);
    }

    [Theory]
    [InlineData("dataset:", "config.data.datasets[0].path")]
    [InlineData("dataset:brown@0", "config.data.datasets[0].path")]
    [InlineData("dataset:brown@x", "config.data.datasets[0].path")]
    [InlineData("dataset:missing", "config.data.datasets[0].path")]
    public async Task Malformed_or_unknown_references_name_their_field(string path, string field)
    {
        var refused = await Assert.ThrowsAsync<PlatformException>(() => RunConfigAdmission.AdmitAsync(
            Config($$"""{"name":"a","path":"{{path}}"}"""), Resolve));
        Assert.Equal(field, refused.Field);
    }
}
