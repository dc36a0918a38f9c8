using System.Text.Json;

namespace Moe.Model.Data;

/// <summary>
/// Where a <see cref="WindowSampler"/> stands: the next window is number <see cref="Index"/> of epoch <see cref="Epoch"/>'s
/// shuffled order, drawn with <see cref="Seed"/>. Save it with a checkpoint and pass it back to resume exactly.
/// </summary>
public sealed record SamplerPosition(long Seed, long Epoch, long Index)
{
    public string ToJson() => JsonSerializer.Serialize(this, DatasetManifest.JsonOptions);
    public static SamplerPosition FromJson(string json) =>
        JsonSerializer.Deserialize<SamplerPosition>(json, DatasetManifest.JsonOptions) ?? throw new InvalidDataException("sampler position is null");
}

/// <summary>
/// Fixed-length training windows over a token stream. Window k covers tokens [k*seq, k*seq + seq], seq + 1 ids (inputs and
/// shifted targets), so consecutive windows overlap by one token and every token after the first is a target once per
/// epoch (the tail that does not fill a window is left out). Each epoch visits all windows in an order shuffled by
/// (seed, epoch); batches run on across epoch boundaries.
/// </summary>
public sealed class WindowSampler
{
    readonly int[] tokens;
    readonly long seed;
    long epoch, index;
    long[] order = [];
    long orderEpoch = -1;

    public int SequenceLength { get; }
    public long WindowCount { get; }
    public SamplerPosition Position => new(seed, epoch, index);

    public WindowSampler(int[] tokens, int sequenceLength, long seed, SamplerPosition? resume = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (sequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(sequenceLength), "sequence length must be at least 1");
        this.tokens = tokens;
        this.seed = seed;
        SequenceLength = sequenceLength;
        WindowCount = WindowsIn(tokens.Length, sequenceLength);
        if (WindowCount == 0)
            throw new ArgumentException($"{tokens.Length} tokens are too few for one window of {sequenceLength + 1}", nameof(tokens));
        if (resume is null) return;
        if (resume.Seed != seed) throw new ArgumentException($"resume position has seed {resume.Seed}, sampler seed is {seed}", nameof(resume));
        // Index == WindowCount is a finished epoch: the next draw starts the following one.
        if (resume.Epoch < 0 || resume.Index < 0 || resume.Index > WindowCount)
            throw new ArgumentException($"resume position {resume} is outside epoch 0.. and index 0..{WindowCount}", nameof(resume));
        (epoch, index) = (resume.Epoch, resume.Index);
    }

    /// <summary>How many windows of <paramref name="sequenceLength"/> + 1 tokens a stream of <paramref name="tokenCount"/> holds.</summary>
    public static long WindowsIn(long tokenCount, int sequenceLength) => tokenCount <= 1 ? 0 : (tokenCount - 1) / sequenceLength;

    /// <summary>Start offset of every window of <paramref name="epoch"/>, in visiting order (a Fisher-Yates shuffle).</summary>
    public long[] EpochOrder(long epoch)
    {
        var starts = new long[WindowCount];
        for (long i = 0; i < starts.LongLength; i++) starts[i] = i * SequenceLength;
        var rng = new SplitMix64(seed ^ unchecked((long)0x9E3779B97F4A7C15UL * (epoch + 1)));
        for (var i = starts.LongLength - 1; i > 0; i--)
        {
            var j = (long)rng.NextBelow((ulong)(i + 1));
            (starts[i], starts[j]) = (starts[j], starts[i]);
        }
        return starts;
    }

    /// <summary>The next <paramref name="batch"/> windows as <c>long[batch, seq + 1]</c>, advancing <see cref="Position"/>.</summary>
    public long[,] Next(int batch)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), "batch must be at least 1");
        var result = new long[batch, SequenceLength + 1];
        for (var b = 0; b < batch; b++) NextInto(result, b);
        return result;
    }

    /// <summary>Writes the next window into row <paramref name="row"/> of <paramref name="result"/> (for mixtures).</summary>
    internal void NextInto(long[,] result, int row)
    {
        if (index == WindowCount) { epoch++; index = 0; }
        if (orderEpoch != epoch) { order = EpochOrder(epoch); orderEpoch = epoch; }
        var start = order[index++];
        for (var t = 0; t <= SequenceLength; t++) result[row, t] = tokens[start + t];
    }
}
