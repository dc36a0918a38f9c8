using System.Globalization;
using Moe.Platform.Checkpoints;
using Moe.Platform.Worker.Checkpoints;

namespace Moe.Platform.Grains.Checkpoints;

/// <summary>
/// The checkpoints of one run over its persisted <see cref="CheckpointRegistryState"/>: recording (validated, then
/// retention), pins and lookups. Plain class working on its own copy: the grain restores one per call, and saves
/// <see cref="ToState"/> only when a change was accepted, so a refused request changes nothing.
/// </summary>
public sealed class CheckpointCatalog
{
    private readonly List<CheckpointRecord> _checkpoints;

    public CheckpointCatalog(string runId, CheckpointRegistryState state)
    {
        RunId = PlatformIds.Require(runId, "run_id");
        _checkpoints = [.. state.Checkpoints.OrderBy(c => c.Step)];
    }

    public string RunId { get; }

    /// <summary>Every kept checkpoint, by step ascending.</summary>
    public IReadOnlyList<CheckpointRecord> Checkpoints => _checkpoints.ToArray();

    public CheckpointRecord? Latest => _checkpoints.Count == 0 ? null : _checkpoints[^1];

    public CheckpointRecord Get(long step) =>
        Find(step) ?? throw PlatformException.NotFound("step", $"checkpoint step {step} of run '{RunId}' not found");

    /// <summary>
    /// Adds <paramref name="checkpoint"/> and removes what retention then deletes (possibly the new one, when it is
    /// older than the newest <paramref name="keepLast"/> and not the best). The same step with the same manifest again
    /// is a no-op (a retried call); with another manifest it is refused, since a checkpoint never changes.
    /// </summary>
    public CheckpointRecordOutcome Record(CheckpointRecord checkpoint, int keepLast, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (keepLast < 1)
            throw new PlatformException("keep_last", $"must be at least 1 (got {keepLast}): the newest checkpoint is where a resumed run starts");
        var added = Validated(checkpoint, now);
        if (Find(added.Step) is { } existing)
        {
            if (string.Equals(existing.ManifestSha256, added.ManifestSha256, StringComparison.Ordinal))
                return new CheckpointRecordOutcome(false, []);
            throw PlatformException.Conflict("step",
                $"checkpoint step {added.Step} of run '{RunId}' is already recorded with manifest {existing.ManifestSha256}, not {added.ManifestSha256}: a checkpoint never changes");
        }

        _checkpoints.Add(added);
        _checkpoints.Sort((a, b) => a.Step.CompareTo(b.Step));
        var deleted = CheckpointRetention.ToDelete(_checkpoints, keepLast);
        var deletedSteps = deleted.Select(c => c.Step).ToHashSet();
        _checkpoints.RemoveAll(c => deletedSteps.Contains(c.Step));
        return new CheckpointRecordOutcome(true, deleted);
    }

    /// <summary>Adds <paramref name="holder"/> to the checkpoint's pins; false when it already held one.</summary>
    public bool Pin(long step, string holder)
    {
        holder = RequireHolder(holder);
        var checkpoint = Get(step);
        if (checkpoint.PinnedBy.Contains(holder, StringComparer.Ordinal)) return false;
        Replace(checkpoint with { PinnedBy = checkpoint.PinnedBy.Append(holder).Order(StringComparer.Ordinal).ToArray() });
        return true;
    }

    /// <summary>Removes <paramref name="holder"/>'s pin; false when it held none (a retried unpin).</summary>
    public bool Unpin(long step, string holder)
    {
        holder = RequireHolder(holder);
        var checkpoint = Get(step);
        if (!checkpoint.PinnedBy.Contains(holder, StringComparer.Ordinal)) return false;
        Replace(checkpoint with { PinnedBy = checkpoint.PinnedBy.Where(h => h != holder).ToArray() });
        return true;
    }

    public CheckpointRegistryState ToState() => new() { Checkpoints = [.. _checkpoints] };

    private CheckpointRecord? Find(long step) => _checkpoints.Find(c => c.Step == step);

    private void Replace(CheckpointRecord checkpoint) =>
        _checkpoints[_checkpoints.FindIndex(c => c.Step == checkpoint.Step)] = checkpoint;

    /// <summary>The record as stored: checked against the run's layout (retention deletes everything under its
    /// prefix, so a wrong prefix could delete another checkpoint's files) and normalised.</summary>
    private CheckpointRecord Validated(CheckpointRecord checkpoint, DateTimeOffset now)
    {
        if (checkpoint.RunId != RunId)
            throw new PlatformException("run_id", $"a checkpoint of run '{checkpoint.RunId}' cannot be recorded for run '{RunId}'");
        if (checkpoint.Step < 0) throw new PlatformException("step", $"must be 0 or more, got {checkpoint.Step}");
        var prefix = CheckpointArtifactKeys.Step(RunId, checkpoint.Step);
        if (checkpoint.ArtifactPrefix != prefix)
            throw new PlatformException("artifact_prefix", $"checkpoint step {checkpoint.Step} of run '{RunId}' lives under '{prefix}', not '{checkpoint.ArtifactPrefix}'");
        var sha = checkpoint.ManifestSha256?.ToLowerInvariant() ?? "";
        if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower))
            throw new PlatformException("manifest_sha256", $"must be 64 hex digits, got '{checkpoint.ManifestSha256}'");
        if (checkpoint.SizeBytes < 0)
            throw new PlatformException("size_bytes", $"must be 0 or more, got {checkpoint.SizeBytes.ToString(CultureInfo.InvariantCulture)}");
        return checkpoint with
        {
            ManifestSha256 = sha,
            // A diverged run reports NaN: it cannot be the best, and JSON state cannot hold it.
            ValLoss = checkpoint.ValLoss is { } loss && double.IsFinite(loss) ? loss : null,
            CreatedAt = checkpoint.CreatedAt == default ? now : checkpoint.CreatedAt,
            PinnedBy = [], // pins come only through Pin, never with the upload
        };
    }

    private static string RequireHolder(string holder) =>
        string.IsNullOrWhiteSpace(holder) ? throw new PlatformException("holder", "is required") : holder.Trim();
}

/// <summary>What recording did: whether the checkpoint was new, and which checkpoints retention removed.</summary>
public sealed record CheckpointRecordOutcome(bool Added, IReadOnlyList<CheckpointRecord> Deleted);
