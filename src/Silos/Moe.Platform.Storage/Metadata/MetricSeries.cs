namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// One named curve of a run ("loss", "router.0.entropy"). Points reference the series by a small integer id, so the
/// (series, step) primary key of <see cref="MetricSample"/> stays compact for millions of rows.
/// </summary>
public class MetricSeries
{
    public long Id { get; set; }
    public required string RunId { get; set; }
    public required string Name { get; set; }
}

/// <summary>One stored metric value; written by <see cref="MetricStore"/> with bulk upserts, not through change tracking.</summary>
public class MetricSample
{
    public long SeriesId { get; set; }
    public long Step { get; set; }
    /// <summary>Null for a non-finite value (NaN of a diverging run), which min/max then ignore.</summary>
    public double? Value { get; set; }
    public DateTime RecordedAt { get; set; }
}

/// <summary>
/// Min, max, last and count of a series over one bucket of 10^<see cref="Level"/> steps (bucket = step / 10^level),
/// kept by <see cref="MetricStore"/> as points arrive, so a downsampled query reads about as many rows as it returns
/// whatever the series' length.
/// </summary>
public class MetricRollup
{
    public long SeriesId { get; set; }
    public int Level { get; set; }
    public long Bucket { get; set; }
    public long FirstStep { get; set; }
    public long LastStep { get; set; }
    public double? MinValue { get; set; }
    public double? MaxValue { get; set; }
    public double? LastValue { get; set; }
    public long Count { get; set; }
}
