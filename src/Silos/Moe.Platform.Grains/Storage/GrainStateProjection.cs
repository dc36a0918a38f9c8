using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Storage.Metadata;

namespace Moe.Platform.Grains.Storage;

/// <summary>
/// Keeps the queryable tables (runs, experiments, checkpoints...) in step with a grain's state: when
/// <see cref="EfCoreGrainStorage"/> writes a state of this type it applies the projection in the same transaction, so
/// the grain's row and the portal's rows change together or not at all (a unique-name violation in the projection
/// leaves the grain's state unwritten too). Projections are singletons; they get a fresh context per write.
/// </summary>
public interface IGrainStateProjection
{
    Type StateType { get; }

    /// <summary>Brings the tables in line with <paramref name="state"/> and saves (inside the storage's transaction).</summary>
    Task ApplyAsync(PlatformDb db, string grainKey, object state, CancellationToken cancellationToken);
}

/// <summary>Typed base of <see cref="IGrainStateProjection"/>.</summary>
public abstract class GrainStateProjection<TState> : IGrainStateProjection
{
    public Type StateType => typeof(TState);

    public Task ApplyAsync(PlatformDb db, string grainKey, object state, CancellationToken cancellationToken) =>
        ApplyAsync(db, grainKey, (TState)state, cancellationToken);

    protected abstract Task ApplyAsync(PlatformDb db, string grainKey, TState state, CancellationToken cancellationToken);

    /// <summary>The tracked row with this key, or a new one added through <paramref name="create"/>.</summary>
    protected static async Task<TEntity> UpsertAsync<TEntity>(DbSet<TEntity> set, object key, Func<TEntity> create,
        CancellationToken cancellationToken) where TEntity : class
    {
        var row = await set.FindAsync([key], cancellationToken);
        if (row is not null) return row;
        row = create();
        set.Add(row);
        return row;
    }
}

public static class GrainStateProjectionExtensions
{
    /// <summary>Registers a projection for the EF Core grain storage providers of this silo.</summary>
    public static IServiceCollection AddGrainStateProjection<TProjection>(this IServiceCollection services)
        where TProjection : class, IGrainStateProjection =>
        services.AddSingleton<IGrainStateProjection, TProjection>();
}
