using System.Text.Json;
using System.Text.Json.Serialization;

namespace Moe.Model.Data;

/// <summary>
/// Where a <see cref="MixtureSampler"/> stands, saved with a checkpoint: the seed, the state of the generator that picks
/// each window's dataset, every dataset's own <see cref="SamplerPosition"/>, and how many windows each dataset has
/// given so far (the realised mix, for logging). JSON in snake_case; dataset names are kept as written.
/// </summary>
public sealed record MixturePosition(
    long Seed,
    ulong RngState,
    IReadOnlyDictionary<string, SamplerPosition> Samplers,
    IReadOnlyDictionary<string, long> Drawn)
{
    [JsonIgnore]
    public long TotalDrawn => Drawn.Values.Sum();

    /// <summary>Each dataset's share of the windows drawn so far (0 for all before the first draw).</summary>
    public IReadOnlyDictionary<string, double> RealisedShares()
    {
        var total = TotalDrawn;
        return Drawn.ToDictionary(p => p.Key, p => total == 0 ? 0.0 : (double)p.Value / total, StringComparer.Ordinal);
    }

    public string ToJson() => JsonSerializer.Serialize(this, DatasetManifest.JsonOptions);

    public static MixturePosition FromJson(string json) =>
        JsonSerializer.Deserialize<MixturePosition>(json, DatasetManifest.JsonOptions) ?? throw new InvalidDataException("mixture position is null");
}
