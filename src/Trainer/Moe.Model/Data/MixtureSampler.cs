using System.Text;

namespace Moe.Model.Data;

/// <summary>
/// Training windows from several token streams with a curriculum: each window's dataset is drawn by a deterministic
/// generator with the weights of the <see cref="MixturePhase"/> that contains the current training progress, and the
/// window itself is the next one of that dataset's own <see cref="WindowSampler"/> (its own shuffled epochs).
/// <see cref="Position"/> captures all of it, so a sampler resumed from a saved position continues the exact sequence.
/// </summary>
public sealed class MixtureSampler
{
    readonly long seed;
    readonly string[] names;                      // ordinal order: the draw never depends on dictionary order
    readonly WindowSampler[] samplers;
    readonly long[] drawn;
    readonly double[][] cumulative;               // per phase: running sums of the weights in name order
    SplitMix64 rng;

    public int SequenceLength { get; }
    public IReadOnlyList<string> Names => names;
    public IReadOnlyList<MixturePhase> Phases { get; }

    /// <param name="datasets">Each dataset's training tokens by name.</param>
    /// <param name="phases">Curriculum phases with increasing <see cref="MixturePhase.Until"/>, the last 1.0.</param>
    /// <param name="resume">A position saved from a sampler built with the same datasets, length, seed and phases.</param>
    /// <param name="source">Where the mixture was written (a config file), named in errors.</param>
    public MixtureSampler(IReadOnlyDictionary<string, int[]> datasets, int sequenceLength, long seed,
        IReadOnlyList<MixturePhase> phases, MixturePosition? resume = null, string source = "mixture")
    {
        ArgumentNullException.ThrowIfNull(datasets);
        ArgumentNullException.ThrowIfNull(phases);
        if (datasets.Count == 0) throw new ArgumentException("a mixture needs at least one dataset", nameof(datasets));
        if (sequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(sequenceLength), "sequence length must be at least 1");
        this.seed = seed;
        SequenceLength = sequenceLength;
        names = datasets.Keys.Order(StringComparer.Ordinal).ToArray();
        Phases = phases.ToArray();
        cumulative = CheckPhases(Phases, names, source);
        if (resume is not null) CheckResume(resume);

        samplers = new WindowSampler[names.Length];
        drawn = new long[names.Length];
        for (var d = 0; d < names.Length; d++)
        {
            var name = names[d];
            var tokens = datasets[name];
            if (WindowSampler.WindowsIn(tokens.Length, sequenceLength) == 0)
                throw new DataException(source, 0, $"dataset '{name}' has {tokens.Length} tokens, too few for one window of {sequenceLength + 1}");
            samplers[d] = new WindowSampler(tokens, sequenceLength, DatasetSeed(seed, name), resume?.Samplers[name]);
            drawn[d] = resume?.Drawn[name] ?? 0;
        }
        rng = new SplitMix64(resume?.RngState ?? unchecked((ulong)seed ^ 0x6A09E667F3BCC909UL));
    }

    /// <summary>Where the sampler stands now; save it with the checkpoint.</summary>
    public MixturePosition Position => new(
        seed,
        rng.State,
        names.Select((n, d) => (n, samplers[d].Position)).ToDictionary(p => p.n, p => p.Position, StringComparer.Ordinal),
        names.Select((n, d) => (n, drawn[d])).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal));

    /// <summary>Index of the phase that holds <paramref name="progress"/>; past 1 (training run beyond plan) is the last phase.</summary>
    public int PhaseAt(double progress)
    {
        if (double.IsNaN(progress) || progress < 0) throw new ArgumentOutOfRangeException(nameof(progress), $"progress {progress} is not in [0, 1]");
        for (var p = 0; p < Phases.Count; p++) if (progress <= Phases[p].Until) return p;
        return Phases.Count - 1;
    }

    /// <summary>The next <paramref name="batch"/> windows as <c>long[batch, seq + 1]</c> at training <paramref name="progress"/>.</summary>
    public long[,] Next(int batch, double progress)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), "batch must be at least 1");
        var sums = cumulative[PhaseAt(progress)];
        var result = new long[batch, SequenceLength + 1];
        for (var b = 0; b < batch; b++)
        {
            var d = Pick(sums, rng.NextDouble() * sums[^1]);
            samplers[d].NextInto(result, b);
            drawn[d]++;
        }
        return result;
    }

    /// <summary>The first dataset whose running sum exceeds <paramref name="u"/>, skipping weight-0 datasets.</summary>
    static int Pick(double[] sums, double u)
    {
        for (var d = 0; d < sums.Length; d++) if (u < sums[d]) return d;
        // u is below the total by construction; rounding can only land it on the last dataset with weight.
        for (var d = sums.Length - 1; d > 0; d--) if (sums[d] > sums[d - 1]) return d;
        return 0;
    }

    static double[][] CheckPhases(IReadOnlyList<MixturePhase> phases, string[] names, string source)
    {
        if (phases.Count == 0) throw new DataException(source, 0, "a mixture needs at least one phase");
        var result = new double[phases.Count][];
        var previous = 0.0;
        for (var p = 0; p < phases.Count; p++)
        {
            var phase = phases[p];
            if (!(phase.Until > previous && phase.Until <= 1))
                throw new DataException(source, 0, $"phase {p}: until {phase.Until} must be above the previous phase's ({previous}) and at most 1");
            foreach (var (name, weight) in phase.Weights)
            {
                if (Array.BinarySearch(names, name, StringComparer.Ordinal) < 0)
                    throw new DataException(source, 0, $"phase {p}: unknown dataset '{name}' (known: {string.Join(", ", names)})");
                if (!(weight >= 0) || double.IsInfinity(weight))
                    throw new DataException(source, 0, $"phase {p}: weight {weight} of '{name}' is not a finite non-negative number");
            }
            var sums = new double[names.Length];
            var total = 0.0;
            for (var d = 0; d < names.Length; d++) sums[d] = total += phase.Weights.GetValueOrDefault(names[d]);
            if (total <= 0) throw new DataException(source, 0, $"phase {p}: all weights are zero");
            result[p] = sums;
            previous = phase.Until;
        }
        if (previous != 1.0) throw new DataException(source, 0, $"the last phase ends at {previous}; it must end at 1 (the end of training)");
        return result;
    }

    void CheckResume(MixturePosition resume)
    {
        if (resume.Seed != seed) throw new ArgumentException($"resume position has seed {resume.Seed}, mixture seed is {seed}", nameof(resume));
        var saved = resume.Samplers.Keys.Order(StringComparer.Ordinal).ToArray();
        if (!saved.SequenceEqual(names) || !resume.Drawn.Keys.Order(StringComparer.Ordinal).SequenceEqual(names))
            throw new ArgumentException($"resume position covers datasets [{string.Join(", ", saved)}], the mixture has [{string.Join(", ", names)}]", nameof(resume));
    }

    /// <summary>Each dataset's window order gets its own seed (FNV-1a of its name mixed with the mixture seed), so two
    /// datasets of the same size are not shuffled alike, and adding a dataset does not reshuffle the others.</summary>
    static long DatasetSeed(long seed, string name)
    {
        var hash = 0xCBF29CE484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(name)) hash = (hash ^ b) * 0x100000001B3UL;
        return seed ^ unchecked((long)hash);
    }
}
