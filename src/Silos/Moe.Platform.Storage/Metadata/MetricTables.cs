namespace Moe.Platform.Storage.Metadata;

/// <summary>Table and column names the metrics store's hand-written SQL uses (the model maps to the same names).</summary>
static class MetricTables
{
    public const string Series = "metric_series";
    public const string Samples = "metric_samples";
    public const string Rollups = "metric_rollups";
    // Columns of metric_samples (snake_case of MetricSample's properties).
    public const string SeriesId = "series_id";
    public const string Step = "step";
    public const string Value = "value";
    public const string RecordedAt = "recorded_at";
}
