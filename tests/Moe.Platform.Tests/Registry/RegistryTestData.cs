using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Checkpoints;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Tests.Grains;
using Moe.Platform.Worker.Checkpoints;

namespace Moe.Platform.Tests.Registry;

/// <summary>
/// Runs and checkpoints for the registry tests on a <see cref="DatabaseCluster"/>: the experiment and run rows the
/// <c>checkpoints</c> foreign key needs, fake checkpoint folders uploaded under the worker's real layout (so retention's
/// deletes are visible in the store), and what the table and the store hold.
/// </summary>
internal static class RegistryTestData
{
    public static readonly DateTimeOffset At = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Inserts an experiment and a run row under fresh ids; returns the run id.</summary>
    public static async Task<string> NewRunAsync(this DatabaseCluster cluster)
    {
        var experimentId = PlatformCluster.NewId("exp");
        var runId = PlatformCluster.NewId("run");
        await using var db = cluster.NewContext();
        db.Experiments.Add(new Experiment { Id = experimentId, Name = experimentId });
        db.Runs.Add(new Run { Id = runId, ExperimentId = experimentId, Name = "run", Status = "Running" });
        await db.SaveChangesAsync(Cancel);
        return runId;
    }

    /// <summary>
    /// Uploads a checkpoint folder (weights, then manifest.json hashing them) and returns the record a worker would
    /// send; <paramref name="weights"/> changes the bytes and so the manifest's hash.
    /// </summary>
    public static async Task<CheckpointRecord> UploadCheckpointAsync(
        this DatabaseCluster cluster, string runId, long step, double? valLoss = null, string weights = "weights")
    {
        var prefix = CheckpointArtifactKeys.Step(runId, step);
        var weightBytes = Encoding.UTF8.GetBytes($"{weights} at step {step}");
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new CheckpointManifest(
            step, [new CheckpointManifestFile("model.safetensors", weightBytes.Length, Sha256(weightBytes))]));
        await cluster.Artifacts.UploadAsync(prefix + "/model.safetensors", new MemoryStream(weightBytes), Cancel);
        await cluster.Artifacts.UploadAsync(prefix + "/" + CheckpointManifest.FileName, new MemoryStream(manifest), Cancel);
        return new CheckpointRecord(runId, step, prefix, Sha256(manifest), weightBytes.Length + manifest.Length, valLoss,
            At.AddMinutes(step), []);
    }

    /// <summary>The steps that have files in the store, ascending.</summary>
    public static async Task<long[]> StoredStepsAsync(this DatabaseCluster cluster, string runId)
    {
        var steps = new SortedSet<long>();
        await foreach (var info in cluster.Artifacts.ListAsync(CheckpointArtifactKeys.RunCheckpoints(runId), Cancel))
            if (CheckpointArtifactKeys.StepOf(runId, info.Key) is { } step) steps.Add(step);
        return [.. steps];
    }

    /// <summary>The run's rows in <c>checkpoints</c>, by step.</summary>
    public static async Task<List<Checkpoint>> CheckpointRowsAsync(this DatabaseCluster cluster, string runId)
    {
        await using var db = cluster.NewContext();
        return await db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId).OrderBy(c => c.Step).ToListAsync(Cancel);
    }

    public static async Task<long[]> RowStepsAsync(this DatabaseCluster cluster, string runId) =>
        [.. (await cluster.CheckpointRowsAsync(runId)).Select(c => c.Step)];

    /// <summary>The model's rows in <c>model_versions</c>, by version, with their checkpoints.</summary>
    public static async Task<List<ModelVersion>> VersionRowsAsync(this DatabaseCluster cluster, string model)
    {
        await using var db = cluster.NewContext();
        return await db.ModelVersions.AsNoTracking().Include(m => m.Checkpoint).Where(m => m.Name == model)
            .OrderBy(m => m.Version).ToListAsync(Cancel);
    }

    /// <summary>The model's aliases in <c>model_aliases</c> as alias -> version number.</summary>
    public static async Task<Dictionary<string, int>> AliasRowsAsync(this DatabaseCluster cluster, string model)
    {
        await using var db = cluster.NewContext();
        return await db.ModelAliases.AsNoTracking().Where(a => a.ModelName == model)
            .Select(a => new { a.Alias, a.ModelVersion!.Version })
            .ToDictionaryAsync(a => a.Alias, a => a.Version, Cancel);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
