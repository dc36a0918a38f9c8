namespace Moe.Model.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose whole state is one <see cref="ulong"/>, so sampler
/// positions can save it in a checkpoint, and whose output never changes with the runtime (unlike <see cref="Random"/>).
/// </summary>
public struct SplitMix64(ulong state)
{
    public SplitMix64(long seed) : this(unchecked((ulong)seed)) { }

    /// <summary>The state to save; a generator constructed from it continues the same sequence.</summary>
    public ulong State { readonly get; private set; } = state;

    public ulong Next()
    {
        var z = State += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1): the top 53 bits as a double.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="n"/>); the modulo bias is below 2^-40 for any n a sampler sees.</summary>
    public ulong NextBelow(ulong n) => Next() % n;
}
