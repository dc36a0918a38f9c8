using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace Moe.Model.Model;

/// <summary>Rotary position embeddings (Su et al. 2021, RoFormer), "rotate-half" layout as in GPT-NeoX and Llama.</summary>
/// <remarks>Position m rotates channel pair (i, i + d/2) by m x theta^(-2i/d), so q.k depends only on the offset.</remarks>
public sealed class RotaryEmbedding(int headDim, int maxPositions, double theta)
{
    // cos/sin tables per device, built once in fp64 and kept outside every dispose scope.
    readonly ConcurrentDictionary<string, (Tensor Cos, Tensor Sin)> tables = new();

    public int HeadDim { get; } = headDim;

    (Tensor Cos, Tensor Sin) Table(Device device) => tables.GetOrAdd(device.ToString(), _ =>
    {
        using var scope = NewDisposeScope();
        var half = HeadDim / 2;
        var invFreq = pow(theta, -arange(0, half, dtype: ScalarType.Float64) * 2.0 / HeadDim);
        var angles = outer(arange(0, maxPositions, dtype: ScalarType.Float64), invFreq); // [P, d/2]
        var full = cat([angles, angles], -1);                                              // [P, d]
        var cos = full.cos().to(ScalarType.Float32).to(device).DetachFromDisposeScope();
        var sin = full.sin().to(ScalarType.Float32).to(device).DetachFromDisposeScope();
        return (cos, sin);
    });

    /// <summary>Rotates x of shape [B, heads, T, headDim] whose first token sits at <paramref name="offset"/>.</summary>
    public Tensor Apply(Tensor x, long offset = 0)
    {
        var length = x.shape[2];
        if (offset + length > maxPositions)
            throw new ArgumentOutOfRangeException(nameof(offset), $"positions up to {offset + length} exceed max_seq_len {maxPositions}");
        using var scope = NewDisposeScope();
        var (cosAll, sinAll) = Table(x.device);
        var cos = cosAll.narrow(0, offset, length);
        var sin = sinAll.narrow(0, offset, length);
        var x32 = x.to(ScalarType.Float32);
        var halves = x32.chunk(2, -1);
        var rotated = cat([-halves[1], halves[0]], -1);
        return (x32 * cos + rotated * sin).to(x.dtype).MoveToOuterDisposeScope();
    }
}
