using Microsoft.EntityFrameworkCore;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Grains.Experiments;

/// <summary>The <c>experiments</c> row of an experiment grain. A name taken by another experiment refuses the write.</summary>
public sealed class ExperimentProjection : GrainStateProjection<ExperimentState>
{
    protected override async Task ApplyAsync(PlatformDb db, string grainKey, ExperimentState state, CancellationToken cancellationToken)
    {
        if (state.Name is null) return;
        // Checked here for a clear error; the unique index still guards a race between two silos.
        if (await db.Experiments.AnyAsync(e => e.Name == state.Name && e.Id != grainKey, cancellationToken))
            throw PlatformException.Conflict("name", $"an experiment named '{state.Name}' already exists");
        var row = await UpsertAsync(db.Experiments, grainKey, () => new Experiment { Id = grainKey, Name = state.Name }, cancellationToken);
        row.Name = state.Name;
        row.Description = state.Description;
        row.Project = state.Project;
        row.CreatedAt = state.CreatedAt.UtcDateTime;
        row.DeletedAt = state.DeletedAt?.UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
    }
}
