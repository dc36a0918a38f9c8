using System.Text;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Moe.Platform.Grains.Storage;

/// <summary>
/// Orleans grain storage over <see cref="PlatformDb.GrainStates"/>, so grain state lives in the same database as the
/// queryable tables (SQLite or PostgreSQL). Optimistic concurrency: the ETag a grain read is the row's concurrency
/// token, renewed by <see cref="PlatformDb"/> on every save; a write or clear based on a stale ETag (another activation
/// wrote meanwhile) throws <see cref="InconsistentStateException"/>. Every call uses its own short-lived context
/// because contexts are not thread-safe and grains call concurrently. A state type with an
/// <see cref="IGrainStateProjection"/> also updates its queryable tables in the same transaction.
/// </summary>
public sealed class EfCoreGrainStorage(
    string name,
    IDbContextFactory<PlatformDb> dbFactory,
    EfCoreGrainStorageOptions options,
    IActivatorProvider activatorProvider,
    IEnumerable<IGrainStateProjection> projections) : IGrainStorage
{
    readonly Dictionary<Type, IGrainStateProjection> _projections = projections.ToDictionary(p => p.StateType);

    // Strict: a serializer that writes binary must fail loudly, not be stored as mangled text.
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    readonly IGrainStorageSerializer _serializer = options.GrainStorageSerializer
        ?? throw new ArgumentException($"grain storage '{name}' has no {nameof(options.GrainStorageSerializer)}", nameof(options));

    public string Name => name;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = GrainStateKey.For(stateName, grainId);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.GrainStates.AsNoTracking()
            .Where(g => g.GrainType == key.GrainType && g.GrainId == key.GrainId)
            .Select(g => new { g.StateJson, g.ETag })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null)
        {
            Reset(grainState);
            return;
        }
        grainState.State = Deserialize<T>(row.StateJson) ?? CreateDefault<T>();
        grainState.ETag = row.ETag;
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = GrainStateKey.For(stateName, grainId);
        var row = new GrainState
        {
            GrainType = key.GrainType,
            GrainId = key.GrainId,
            StateJson = Serialize(grainState.State),
            ETag = grainState.ETag ?? "",
        };
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var projection = grainState.State is { } value ? _projections.GetValueOrDefault(value.GetType()) : null;
        await using var transaction = projection is null ? null : await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            if (grainState.ETag is null)
            {
                db.GrainStates.Add(row); // the grain saw no row: insert, failing if someone inserted meanwhile
            }
            else
            {
                // An UPDATE guarded by the ETag the grain read (the token's original value); PlatformDb renews it.
                db.GrainStates.Attach(row);
                db.Entry(row).Property(g => g.StateJson).IsModified = true;
            }
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException e)
        {
            // No row matched the ETag: another activation wrote or cleared it.
            throw Conflict("write", key, await StoredETagAsync(key, cancellationToken), grainState.ETag, e);
        }
        catch (DbUpdateException e) when (grainState.ETag is null)
        {
            // A duplicate key (SQLite and PostgreSQL word it differently): a concurrent first write won.
            // Anything else (the row still absent) is a real failure and propagates unchanged.
            if (await StoredETagAsync(key, cancellationToken) is not { } stored) throw;
            throw Conflict("insert", key, stored, null, e);
        }
        if (projection is not null)
        {
            // Its own errors (e.g. a unique name taken) propagate; disposing the transaction rolls the grain row back.
            await projection.ApplyAsync(db, key.GrainId, grainState.State!, cancellationToken);
            await transaction!.CommitAsync(cancellationToken);
        }
        grainState.ETag = row.ETag;
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = GrainStateKey.For(stateName, grainId);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        int deleted = grainState.ETag is { } etag
            ? await db.GrainStates
                .Where(g => g.GrainType == key.GrainType && g.GrainId == key.GrainId && g.ETag == etag)
                .ExecuteDeleteAsync(cancellationToken)
            : 0;
        // Nothing deleted: fine if the row is gone (the goal is reached, nothing overwritten); a row with another
        // ETag was written by someone whose state this grain has not seen.
        if (deleted == 0 && await StoredETagAsync(key, cancellationToken) is { } stored)
        {
            throw Conflict("clear", key, stored, grainState.ETag, null);
        }
        Reset(grainState);
    }

    async Task<string?> StoredETagAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.GrainStates.AsNoTracking()
            .Where(g => g.GrainType == key.GrainType && g.GrainId == key.GrainId)
            .Select(g => g.ETag)
            .FirstOrDefaultAsync(cancellationToken);
    }

    InconsistentStateException Conflict(string operation, GrainStateKey key, string? storedETag, string? currentETag, Exception? inner) =>
        new($"grain storage '{name}': {operation} of {key} conflicts with a change by another activation " +
            $"(stored ETag {storedETag ?? "none"}, this activation's {currentETag ?? "none"})",
            storedETag!, currentETag!, inner!);

    void Reset<T>(IGrainState<T> grainState)
    {
        grainState.State = CreateDefault<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    // Orleans' activator, as its own providers use: it also builds types without a public parameterless constructor.
    T CreateDefault<T>() => activatorProvider.GetActivator<T>().Create();

    string Serialize<T>(T state)
    {
        var data = _serializer.Serialize(state);
        try
        {
            return StrictUtf8.GetString(data.ToMemory().Span);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidOperationException(
                $"grain storage '{name}': {_serializer.GetType().Name} did not produce UTF-8 text; state_json needs a JSON serializer", e);
        }
    }

    T? Deserialize<T>(string json) => _serializer.Deserialize<T>(BinaryData.FromString(json));
}
