using Microsoft.EntityFrameworkCore;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Grains.Models;

/// <summary>
/// The <c>model_versions</c> and <c>model_aliases</c> rows of a model (the grain key). A new version's row points at
/// its checkpoint's row, found by (run id, step); a checkpoint without a row refuses the write, so the version is not
/// saved either. Versions never change once written; aliases move.
/// </summary>
public sealed class ModelProjection : GrainStateProjection<ModelRegistryState>
{
    protected override async Task ApplyAsync(PlatformDb db, string grainKey, ModelRegistryState state, CancellationToken cancellationToken)
    {
        var versionRows = await db.ModelVersions.Where(m => m.Name == grainKey).ToDictionaryAsync(m => m.Version, cancellationToken);
        var aliasRows = await db.ModelAliases.Where(a => a.ModelName == grainKey).ToDictionaryAsync(a => a.Alias, cancellationToken);

        foreach (var (alias, row) in aliasRows)
            if (!state.Aliases.ContainsKey(alias)) db.ModelAliases.Remove(row);
        var versions = state.Versions.Select(v => v.Version).ToHashSet();
        foreach (var (version, row) in versionRows)
            if (!versions.Contains(version)) db.ModelVersions.Remove(row);

        foreach (var version in state.Versions.Where(v => !versionRows.ContainsKey(v.Version)))
        {
            var checkpointId = await db.Checkpoints.Where(c => c.RunId == version.RunId && c.Step == version.Step)
                .Select(c => (Guid?)c.Id).FirstOrDefaultAsync(cancellationToken)
                ?? throw new PlatformException("step",
                    $"checkpoint step {version.Step} of run '{version.RunId}' has no row in checkpoints, so model '{grainKey}' cannot reference it");
            var row = new ModelVersion
            {
                Name = grainKey, Version = version.Version, CheckpointId = checkpointId, Description = version.Description,
                CreatedAt = version.CreatedAt.UtcDateTime,
            };
            db.ModelVersions.Add(row);
            versionRows[version.Version] = row;
        }

        foreach (var (alias, version) in state.Aliases)
        {
            var target = versionRows[version];
            if (!aliasRows.TryGetValue(alias, out var row))
            {
                row = new ModelAlias { ModelName = grainKey, Alias = alias };
                db.ModelAliases.Add(row);
            }
            else if (row.ModelVersionId == target.Id)
            {
                continue;
            }
            // The navigation, not only the id, so EF inserts a new version's row before the alias that points at it.
            row.ModelVersion = target;
            row.ModelVersionId = target.Id;
            row.UpdatedAt = DateTime.UtcNow;
        }
        await db.SaveChangesAsync(cancellationToken);
    }
}
