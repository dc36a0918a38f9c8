namespace Moe.Model.Data;

/// <summary>
/// The windows validation loss is measured on: the same every time (no shuffling, no position to save), spread evenly
/// over the validation split so a capped count still sees all of it rather than only its beginning.
/// </summary>
public static class ValidationWindows
{
    /// <summary>
    /// Up to <paramref name="maxWindows"/> non-overlapping windows of <paramref name="sequenceLength"/> + 1 tokens as
    /// <c>long[n, seq + 1]</c>: of the W whole windows the stream holds (window k starts at k*seq, as in
    /// <see cref="WindowSampler"/>), n = min(maxWindows, W) at the evenly spaced indices floor(i*W/n). Empty (n = 0)
    /// when the stream is shorter than one window, e.g. a dataset prepared without a validation split.
    /// </summary>
    public static long[,] Select(int[] tokens, int sequenceLength, int maxWindows)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (sequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(sequenceLength), "sequence length must be at least 1");
        if (maxWindows < 0) throw new ArgumentOutOfRangeException(nameof(maxWindows), "window count cannot be negative");
        var available = WindowSampler.WindowsIn(tokens.Length, sequenceLength);
        var n = (int)Math.Min(maxWindows, available);
        var result = new long[n, sequenceLength + 1];
        for (var i = 0; i < n; i++)
        {
            var start = (long)i * available / n * sequenceLength;
            for (var t = 0; t <= sequenceLength; t++) result[i, t] = tokens[start + t];
        }
        return result;
    }

    /// <summary>The validation windows of a prepared dataset folder (see <see cref="TokenDataset"/>).</summary>
    public static long[,] FromDataset(string datasetDir, int sequenceLength, int maxWindows) =>
        Select(TokenDataset.ReadTokens(datasetDir, DatasetSplit.Validation), sequenceLength, maxWindows);
}
