using Microsoft.EntityFrameworkCore;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Grains.Checkpoints;

/// <summary>
/// The <c>checkpoints</c> rows of a run (the grain key): one per kept checkpoint, added and removed as the registry's
/// state changes. Removing a row that a model version references is refused here with a clear error (the restricting
/// foreign key would refuse it anyway), so the registry's state is not written either.
/// </summary>
public sealed class CheckpointProjection : GrainStateProjection<CheckpointRegistryState>
{
    protected override async Task ApplyAsync(PlatformDb db, string grainKey, CheckpointRegistryState state, CancellationToken cancellationToken)
    {
        var rows = await db.Checkpoints.Where(c => c.RunId == grainKey).ToDictionaryAsync(c => c.Step, cancellationToken);
        var kept = state.Checkpoints.ToDictionary(c => c.Step);

        var removed = rows.Values.Where(r => !kept.ContainsKey(r.Step)).ToList();
        if (removed.Count > 0)
        {
            var removedIds = removed.Select(r => r.Id).ToList();
            var referenced = await db.ModelVersions.Where(m => removedIds.Contains(m.CheckpointId))
                .Select(m => m.Name + "/" + m.Version).ToListAsync(cancellationToken);
            if (referenced.Count > 0)
                throw new PlatformException("step",
                    $"a checkpoint of run '{grainKey}' still backs model version(s) {string.Join(", ", referenced)} and cannot be removed");
            db.Checkpoints.RemoveRange(removed);
        }

        var added = kept.Values.Where(c => !rows.ContainsKey(c.Step)).ToList();
        if (added.Count > 0 && !await db.Runs.AnyAsync(r => r.Id == grainKey, cancellationToken))
            throw new PlatformException("run_id", $"run '{grainKey}' has no row in runs, so its checkpoints cannot be recorded");
        foreach (var checkpoint in kept.Values)
        {
            if (!rows.TryGetValue(checkpoint.Step, out var row))
            {
                row = new Checkpoint
                {
                    RunId = grainKey, Step = checkpoint.Step, ArtifactPrefix = checkpoint.ArtifactPrefix,
                    ManifestSha256 = checkpoint.ManifestSha256,
                };
                db.Checkpoints.Add(row);
            }
            row.ArtifactPrefix = checkpoint.ArtifactPrefix;
            row.ManifestSha256 = checkpoint.ManifestSha256;
            row.SizeBytes = checkpoint.SizeBytes;
            row.ValLoss = checkpoint.ValLoss;
            row.CreatedAt = checkpoint.CreatedAt.UtcDateTime;
        }
        await db.SaveChangesAsync(cancellationToken);
    }
}
