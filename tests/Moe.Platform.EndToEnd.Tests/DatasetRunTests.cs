using System.Text.Json.Nodes;
using Moe.Platform.Datasets;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Worker.Tests;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// Runs that name a platform dataset: the run pins the version and its tokenizer, the worker downloads and verifies it,
/// and a stored dataset whose bytes no longer match the registered hash fails the run with that reason.
/// </summary>
public sealed class DatasetRunTests(TinyTrainingSetup data)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Uploads the tiny corpus and registers it as version 1 of a new dataset with its own 300-token BPE; waits until ready.</summary>
    private static async Task<DatasetVersionSnapshot> RegisterAsync(PlatformStack stack, TinyTrainingSetup data)
    {
        var datasetId = PlatformIds.New("ds");
        var source = await stack.Artifacts.UploadFileAsync($"uploads/{datasetId}/corpus.jsonl", Path.Combine(data.Root, "corpus.jsonl"), Ct);
        var dataset = stack.Client.GetDataset(datasetId);
        await dataset.CreateAsync("tiny corpus");
        await dataset.AddVersionAsync(new DatasetVersionRequest([new DatasetSource(source.Key, source.Sha256)], TrainTokenizerVocab: 300,
            ValidationFraction: 0.1));
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var version = (await dataset.GetAsync()).Versions.Single();
            if (version.State != DatasetVersionState.Preparing) return version.State == DatasetVersionState.Ready ? version : throw new InvalidOperationException(version.Error);
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the dataset is still preparing");
            await Task.Delay(100, Ct);
        }
    }

    private static RunSpec SpecOn(string experiment, string datasetReference, int steps)
    {
        var config = TinyTrainingSetup.Spec("on-dataset", steps, checkpointEvery: 10, evalEvery: 10, keepLast: 2, tokenizer: "", dataset: datasetReference);
        config.Remove("tokenizer"); // the dataset's own tokenizer is the default
        return new RunSpec(experiment, "on-dataset", 0, new ResourceRequest(0, 0, 1), config.ToJsonString(), MaxRetries: 1);
    }

    [Fact]
    public async Task A_run_on_a_registered_dataset_pins_its_version_and_trains_on_the_downloaded_copy()
    {
        await using var stack = await PlatformStack.StartAsync();
        var version = await RegisterAsync(stack, data);
        var experiment = await stack.NewExperimentAsync("datasets");
        var runId = PlatformIds.New("run");

        var created = await stack.Client.GetRun(runId).CreateAsync(SpecOn(experiment, $"dataset:{version.DatasetId}", steps: 20));

        // The reference is pinned to the version that was newest when the run was created, tokenizer included.
        var config = JsonNode.Parse(created.Spec.ConfigJson)!;
        Assert.Equal($"dataset:{version.DatasetId}@1", (string?)config["data"]!["datasets"]![0]!["path"]);
        Assert.Equal($"dataset:{version.DatasetId}@1", (string?)config["tokenizer"]);
        var run = await stack.WaitForAsync(runId, r => r.Status.IsTerminal(), TimeSpan.FromMinutes(2));
        Assert.True(run.Status == RunStatus.Succeeded, string.Join("\n", run.History.Select(t => $"{t.To}: {t.Reason}")));
        var local = Path.Combine(stack.WorkDirectory, "datasets", version.DatasetId, "v1");
        Assert.True(File.Exists(Path.Combine(local, "manifest.json")));
        Assert.Contains(local, File.ReadAllText(Path.Combine(stack.WorkDirectory, "specs", runId + ".json")));
    }

    [Fact]
    public async Task A_dataset_whose_stored_bytes_no_longer_match_its_hash_fails_the_run_with_the_reason()
    {
        await using var stack = await PlatformStack.StartAsync();
        var version = await RegisterAsync(stack, data);
        var experiment = await stack.NewExperimentAsync("tampered");
        // Flip one byte of a stored shard behind the store's back: its recorded SHA-256 stays the registered one.
        var local = (LocalArtifactStore)stack.Artifacts;
        var shard = await stack.Artifacts.ListAsync(version.ArtifactPrefix, Ct).FirstAsync(a => a.Key.EndsWith(".bin"), Ct);
        var bytes = await File.ReadAllBytesAsync(local.DataPath(shard.Key), Ct);
        bytes[0] ^= 0xFF;
        await File.WriteAllBytesAsync(local.DataPath(shard.Key), bytes, Ct);
        var runId = PlatformIds.New("run");

        await stack.Client.GetRun(runId).CreateAsync(SpecOn(experiment, $"dataset:{version.DatasetId}@1", steps: 20));
        var run = await stack.WaitForAsync(runId, r => r.Status.IsTerminal(), TimeSpan.FromMinutes(1));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal([RunStatus.Scheduled, RunStatus.Failed], run.History.Select(t => t.To));
        Assert.Contains("does not match its registered hash", run.History[^1].Reason);
        Assert.Contains(shard.Key, run.History[^1].Reason);
        Assert.False(Directory.Exists(Path.Combine(stack.WorkDirectory, "datasets", version.DatasetId, "v1")));
    }
}
