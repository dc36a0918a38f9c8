using System.Globalization;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Worker.Checkpoints;

/// <summary>
/// Where a run's checkpoints live in the artifact store: <c>runs/&lt;runId&gt;/checkpoints/step-XXXXXXXX/</c>, the same
/// folder name the trainer uses on disk, so a downloaded checkpoint folder is what the trainer would have written.
/// </summary>
public static class CheckpointArtifactKeys
{
    /// <summary>The store folder of every checkpoint of <paramref name="runId"/>, ending with '/'.</summary>
    public static string RunCheckpoints(string runId)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        if (runId.Contains('/')) throw new ArgumentException($"run id '{runId}' must not contain '/'", nameof(runId));
        var prefix = $"runs/{runId}/checkpoints/";
        ArtifactKey.ValidatePrefix(prefix, nameof(runId));
        return prefix;
    }

    /// <summary><c>runs/&lt;runId&gt;/checkpoints/step-00000200</c> (no trailing '/': the upload prefix).</summary>
    public static string Step(string runId, long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return RunCheckpoints(runId) + "step-" + step.ToString("D8", CultureInfo.InvariantCulture);
    }

    /// <summary>The step of a key under <see cref="RunCheckpoints"/>, or null for any other key.</summary>
    public static long? StepOf(string runId, string key)
    {
        var prefix = RunCheckpoints(runId) + "step-";
        if (!key.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var rest = key.AsSpan(prefix.Length);
        var slash = rest.IndexOf('/');
        if (slash >= 0) rest = rest[..slash];
        return long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : null;
    }
}
