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
