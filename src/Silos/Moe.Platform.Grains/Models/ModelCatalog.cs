using System.Globalization;
using Moe.Platform.Checkpoints;
using Moe.Platform.Models;

namespace Moe.Platform.Grains.Models;

/// <summary>
/// A model's versions and aliases over its persisted <see cref="ModelRegistryState"/>. Plain class working on its own
/// copy: the grain restores one per call and saves <see cref="ToState"/> only when a change was accepted.
/// </summary>
public sealed class ModelCatalog
{
    private readonly List<ModelVersionState> _versions;
    private readonly Dictionary<string, int> _aliases;
    private int _lastVersion;

    public ModelCatalog(string name, ModelRegistryState state)
    {
        Name = PlatformIds.Require(name, "model");
        _versions = [.. state.Versions.OrderBy(v => v.Version)];
        _aliases = new Dictionary<string, int>(state.Aliases, StringComparer.Ordinal);
        _lastVersion = state.LastVersion;
    }

    public string Name { get; }

    /// <summary>The number the next registered version gets.</summary>
    public int NextVersion => _lastVersion + 1;

    /// <summary>The pin a version holds on its checkpoint ("model:moe-small/3").</summary>
    public static string PinHolder(string modelName, int version) =>
        $"model:{modelName}/{version.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Adds <paramref name="checkpoint"/> (already pinned for <see cref="NextVersion"/>) as that version.</summary>
    public ModelVersionState Add(CheckpointRecord checkpoint, string? description, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var version = new ModelVersionState(
            NextVersion, checkpoint.RunId, checkpoint.Step, checkpoint.ArtifactPrefix, checkpoint.ManifestSha256,
            string.IsNullOrWhiteSpace(description) ? null : description.Trim(), now);
        _versions.Add(version);
        _lastVersion = version.Version;
        return version;
    }

    public ModelVersionState Get(int version) =>
        _versions.Find(v => v.Version == version)
        ?? throw PlatformException.NotFound("version", $"version {version} of model '{Name}' not found");

    /// <summary>A version by its number ("3") or by an alias pointing at it ("production").</summary>
    public ModelVersionState Resolve(string versionOrAlias)
    {
        var text = versionOrAlias?.Trim() ?? "";
        if (IsNumber(text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return Get(number);
        return _aliases.TryGetValue(text, out var aliased)
            ? Get(aliased)
            : throw PlatformException.NotFound("version", $"model '{Name}' has no version or alias '{versionOrAlias}'");
    }

    /// <summary>Points <paramref name="alias"/> at <paramref name="version"/>; false when it already did.</summary>
    public bool SetAlias(string alias, int version)
    {
        RequireAliasName(alias);
        Get(version);
        if (_aliases.TryGetValue(alias, out var current) && current == version) return false;
        _aliases[alias] = version;
        return true;
    }

    public void RemoveAlias(string alias)
    {
        if (!_aliases.Remove(alias ?? ""))
            throw PlatformException.NotFound("alias", $"model '{Name}' has no alias '{alias}'");
    }

    /// <summary>Removes a version; refused while an alias points at it (move or remove the alias first).</summary>
    public ModelVersionState Delete(int version)
    {
        var removed = Get(version);
        var aliases = AliasesOf(version);
        if (aliases.Length > 0)
            throw PlatformException.Conflict("version",
                $"version {version} of model '{Name}' is aliased as {string.Join(", ", aliases)}; move or remove the alias first");
        _versions.Remove(removed);
        return removed;
    }

    public ModelRegistryState ToState() => new()
    {
        Versions = [.. _versions], Aliases = new Dictionary<string, int>(_aliases), LastVersion = _lastVersion,
    };

    public ModelSnapshot Snapshot() =>
        new(Name, _versions.Select(Snapshot).ToArray(), new Dictionary<string, int>(_aliases));

    public ModelVersionSnapshot Snapshot(ModelVersionState v) =>
        new(Name, v.Version, v.RunId, v.Step, v.ArtifactPrefix, v.ManifestSha256, v.Description, v.CreatedAt, AliasesOf(v.Version));

    private string[] AliasesOf(int version) =>
        _aliases.Where(a => a.Value == version).Select(a => a.Key).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Alias names are ids; an all-digit one is refused because it would read as a version number.</summary>
    public static void RequireAliasName(string alias)
    {
        PlatformIds.Require(alias, "alias");
        if (IsNumber(alias)) throw new PlatformException("alias", $"'{alias}' is a number and would read as a version; pick a name");
    }

    private static bool IsNumber(string text) => text.Length > 0 && text.All(char.IsAsciiDigit);
}
