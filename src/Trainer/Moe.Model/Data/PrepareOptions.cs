namespace Moe.Model.Data;

/// <summary>How <see cref="TokenDataset.Prepare"/> splits, separates and shards.</summary>
public sealed record PrepareOptions
{
    /// <summary>Share of documents held out for validation, in [0, 1).</summary>
    public double ValidationFraction { get; init; }
    /// <summary>Chooses which documents are held out (same seed, fraction and sources: same split).</summary>
    public long Seed { get; init; }
    /// <summary>A token appended after every document (for example end-of-text), or none.</summary>
    public int? DocumentSeparator { get; init; }
    /// <summary>Tokens per shard file at most.</summary>
    public long ShardTokens { get; init; } = 1L << 24;
    /// <summary>Replace an existing output folder (atomically) instead of refusing.</summary>
    public bool Overwrite { get; init; }
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
