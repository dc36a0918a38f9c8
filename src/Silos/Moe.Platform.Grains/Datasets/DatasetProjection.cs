using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Datasets;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Grains.Datasets;

/// <summary>
/// The <c>datasets</c> row (id = name = grain key) and one <c>dataset_versions</c> row per version. A row already
/// Ready is never touched again: <see cref="PlatformDb"/> refuses changes to it, and the grain never changes a Ready
/// version either, so the Ready transition is written exactly once.
/// </summary>
public sealed class DatasetProjection : GrainStateProjection<DatasetState>
{
    private static readonly JsonSerializerOptions SourcesJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    protected override async Task ApplyAsync(PlatformDb db, string grainKey, DatasetState state, CancellationToken cancellationToken)
    {
        if (state.CreatedAt is not { } createdAt) return;
        var dataset = await UpsertAsync(db.Datasets, grainKey, () => new Dataset { Id = grainKey, Name = grainKey }, cancellationToken);
        dataset.Description = state.Description;
        dataset.CreatedAt = createdAt.UtcDateTime;

        var rows = await db.DatasetVersions.Where(v => v.DatasetId == grainKey).ToDictionaryAsync(v => v.Version, cancellationToken);
        foreach (var version in state.Versions)
        {
            if (rows.TryGetValue(version.Version, out var row))
            {
                if (row.Status == DatasetVersionStatus.Ready) continue;
            }
            else
            {
                row = new DatasetVersion { DatasetId = grainKey, ArtifactPrefix = DatasetLayout.Prefix(grainKey, version.Version) };
                db.DatasetVersions.Add(row);
            }
            Fill(row, version);
        }
        await db.SaveChangesAsync(cancellationToken);
    }

    private static void Fill(DatasetVersion row, DatasetVersionEntry version)
    {
        row.Version = version.Version;
        row.Status = version.State switch
        {
            DatasetVersionState.Ready => DatasetVersionStatus.Ready,
            DatasetVersionState.Failed => DatasetVersionStatus.Failed,
            _ => DatasetVersionStatus.Preparing,
        };
        row.ArtifactPrefix = DatasetLayout.Prefix(row.DatasetId, version.Version);
        row.SourcesJson = JsonSerializer.Serialize(version.Sources, SourcesJson);
        row.ContentHash = version.ContentHash;
        row.TokenCount = version.TrainTokens + version.ValidationTokens;
        row.VocabularyHash = version.VocabularyHash;
        row.TokenizerSha256 = version.TokenizerSha256;
        row.Error = version.Error;
        row.ReadyAt = version.ReadyAt?.UtcDateTime;
        row.CreatedAt = version.CreatedAt.UtcDateTime;
    }
}
