using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Worker.Checkpoints;
using Moe.Platform.Worker.Events;

namespace Moe.Platform.Worker.Tests;

/// <summary>The uploader against a <see cref="LocalArtifactStore"/> with hand-made checkpoint folders (no trainer).</summary>
public sealed class CheckpointUploaderTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"moe-uploader-{Guid.NewGuid():N}");
    private readonly CountingArtifactStore _store;

    public CheckpointUploaderTests()
    {
        Directory.CreateDirectory(_dir);
        _store = new CountingArtifactStore(new LocalArtifactStore(Path.Combine(_dir, "store")));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A checkpoint folder as the trainer writes it: files plus manifest.json with their sizes and hashes.</summary>
    private string Checkpoint(long step)
    {
        var folder = Path.Combine(_dir, "run", "checkpoints", $"step-{step:D8}");
        Directory.CreateDirectory(folder);
        var files = new JsonArray();
        foreach (var name in new[] { "model.safetensors", "state.json" })
        {
            var bytes = RandomNumberGenerator.GetBytes(1000 + (int)step);
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
            files.Add(new JsonObject { ["name"] = name, ["bytes"] = bytes.Length, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)) });
        }
        File.WriteAllText(Path.Combine(folder, "manifest.json"), new JsonObject { ["format"] = "moe-checkpoint-manifest/1", ["step"] = step, ["files"] = files }.ToJsonString());
        return folder;
    }

    private static CheckpointWritten Written(long step, string path, params long[] deleted) =>
        new(step, path, 3.0, step, deleted, new JsonObject());

    private async Task<List<string>> StoredKeys()
    {
        var keys = new List<string>();
        await foreach (var info in _store.ListAsync("", Ct)) keys.Add(info.Key);
        return keys;
    }

    [Fact]
    public async Task UploadsEachStepOnceAndDeletesWhatRetentionDeleted()
    {
        var uploader = new CheckpointUploader(_store, "r1");
        var five = Checkpoint(5);
        var upload = await uploader.HandleAsync(Written(5, five), Ct);
        Assert.NotNull(upload);
        Assert.Equal("runs/r1/checkpoints/step-00000005", upload.Prefix);
        Assert.Equal(["manifest.json", "model.safetensors", "state.json"], upload.Artifacts.Select(a => a.Key[(upload.Prefix.Length + 1)..]));

        Assert.Null(await uploader.HandleAsync(Written(5, five), Ct)); // the same event again
        Assert.Equal(1, _store.DirectoryUploads);

        await uploader.HandleAsync(Written(10, Checkpoint(10), deleted: 5), Ct);
        Assert.Equal([10L], uploader.UploadedSteps);
        Assert.All(await StoredKeys(), k => Assert.StartsWith("runs/r1/checkpoints/step-00000010/", k));
        Assert.Null(await uploader.HandleAsync(new TrainingStarted(10, "r", "cpu", "Float32", 20, 64, Path.Combine(_dir, "run", "checkpoints", "step-00000010"), new JsonObject()), Ct));
        Assert.Equal(2, _store.DirectoryUploads);

        // Another uploader (a restarted worker) learns from the store what is complete there.
        var takeover = new CheckpointUploader(_store, "r1");
        await takeover.LoadUploadedStepsAsync(Ct);
        Assert.Equal([10L], takeover.UploadedSteps);
        Assert.Null(await takeover.HandleAsync(Written(10, Path.Combine(_dir, "gone")), Ct));
    }

    [Fact]
    public async Task AFolderThatVanishedIsSkippedWithAWarning()
    {
        var logger = new ListLogger();
        var uploader = new CheckpointUploader(_store, "r1", logger);
        Assert.Null(await uploader.HandleAsync(Written(15, Path.Combine(_dir, "run", "checkpoints", "step-00000015")), Ct));

        // Half deleted (retention is removing it: a file of the manifest gone): nothing of it stays in the store.
        var twenty = Checkpoint(20);
        File.Delete(Path.Combine(twenty, "state.json"));
        Assert.Null(await uploader.HandleAsync(Written(20, twenty), Ct));

        Assert.Empty(uploader.UploadedSteps);
        Assert.Empty(await StoredKeys());
        Assert.Equal(2, logger.At(LogLevel.Warning).Count(m => m.Contains("vanished before it was uploaded")));
    }

    [Fact]
    public async Task AFolderThatContradictsItsManifestIsRefused()
    {
        var uploader = new CheckpointUploader(_store, "r1");
        var folder = Checkpoint(25);
        File.WriteAllText(Path.Combine(folder, "state.json"), "tampered");
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => uploader.HandleAsync(Written(25, folder), Ct));
        Assert.Contains("state.json", error.Message);
        Assert.Empty(await StoredKeys());
        Assert.Empty(uploader.UploadedSteps);
    }

    [Fact]
    public void RunIdsAndStepKeysFollowTheLayout()
    {
        Assert.Equal("runs/abc/checkpoints/step-00000200", CheckpointArtifactKeys.Step("abc", 200));
        Assert.Equal(200, CheckpointArtifactKeys.StepOf("abc", "runs/abc/checkpoints/step-00000200/model.safetensors"));
        Assert.Null(CheckpointArtifactKeys.StepOf("abc", "runs/abcd/checkpoints/step-00000200/model.safetensors"));
        Assert.Throws<ArgumentException>(() => new CheckpointUploader(_store, "a/b"));
        Assert.Throws<ArgumentException>(() => new CheckpointUploader(_store, ".."));
    }
}
