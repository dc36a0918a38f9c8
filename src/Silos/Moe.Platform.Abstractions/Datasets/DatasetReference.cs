using System.Globalization;

namespace Moe.Platform.Datasets;

/// <summary>
/// How a run config names a platform dataset instead of a folder: <c>dataset:&lt;id&gt;</c> (the newest ready version,
/// pinned when the run is created) or <c>dataset:&lt;id&gt;@&lt;version&gt;</c>. As the config's <c>tokenizer</c>, it means
/// the tokenizer.json that version was prepared with. Workers replace references with the local folders they download.
/// </summary>
public sealed record DatasetReference(string DatasetId, int? Version)
{
    public const string Scheme = "dataset:";

    public static bool IsReference(string? text) => text is not null && text.StartsWith(Scheme, StringComparison.Ordinal);

    /// <summary>Parses a reference; a malformed one throws a <see cref="PlatformException"/> naming <paramref name="field"/>.</summary>
    public static DatasetReference Parse(string text, string field)
    {
        if (!IsReference(text)) throw new PlatformException(field, $"'{text}' is not a dataset reference ({Scheme}<id>[@<version>])");
        var body = text[Scheme.Length..];
        var at = body.LastIndexOf('@');
        int? version = null;
        if (at >= 0)
        {
            if (!int.TryParse(body[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < 1)
                throw new PlatformException(field, $"'{text}': the version after '@' must be a number from 1");
            version = v;
            body = body[..at];
        }
        return new DatasetReference(PlatformIds.Require(body, field), version);
    }

    public override string ToString() =>
        Version is { } v ? $"{Scheme}{DatasetId}@{v.ToString(CultureInfo.InvariantCulture)}" : $"{Scheme}{DatasetId}";
}
