using System.Security.Cryptography;
using Moe.Model.Config;
using Moe.Model.Data;

namespace Moe.Model.Training;

/// <summary>
/// The data of a run, checked against the run config: every prepared dataset verified (shard hashes), prepared with the
/// run's tokenizer (vocabulary hash) and within the model's vocabulary; the curriculum as mixture phases; the fixed
/// validation windows.
/// </summary>
public sealed class RunData
{
    public required string TokenizerHash { get; init; }
    public required IReadOnlyDictionary<string, int[]> Train { get; init; }
    public required IReadOnlyList<MixturePhase> Phases { get; init; }
    public required long[,] ValidationWindows { get; init; }
    public required IReadOnlyDictionary<string, DatasetManifest> Manifests { get; init; }

    public static RunData Load(RunConfig config)
    {
        if (!File.Exists(config.Tokenizer)) throw new ConfigException("tokenizer", $"file '{config.Tokenizer}' does not exist");
        var tokenizerHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(config.Tokenizer)));
        var train = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var manifests = new Dictionary<string, DatasetManifest>(StringComparer.Ordinal);
        var seq = config.Training.SeqLen;
        for (var i = 0; i < config.Data.Datasets.Count; i++)
        {
            var (name, path) = config.Data.Datasets[i];
            var field = $"data.datasets[{i}].path";
            if (!File.Exists(Path.Combine(path, DatasetManifest.FileName)))
                throw new ConfigException(field, $"'{path}' is not a prepared dataset (no {DatasetManifest.FileName}); run `moe-trainer data prepare` first");
            DatasetManifest manifest;
            try { manifest = TokenDataset.Verify(path); }
            catch (InvalidDataException e) { throw new ConfigException(field, e.Message); }
            if (manifest.VocabularyHash != tokenizerHash)
                throw new ConfigException(field, $"dataset '{name}' was prepared with another tokenizer (vocabulary hash {Short(manifest.VocabularyHash)}, tokenizer {Short(tokenizerHash)})");
            if (manifest.VocabSize > config.Model.VocabSize)
                throw new ConfigException("model.vocab_size", $"{config.Model.VocabSize} is smaller than dataset '{name}''s vocabulary ({manifest.VocabSize})");
            if (manifest.Train.Tokens <= seq)
                throw new ConfigException(field, $"dataset '{name}' has {manifest.Train.Tokens} training tokens, too few for one window of training.seq_len + 1 = {seq + 1}");
            train[name] = TokenDataset.ReadTokens(path, DatasetSplit.Train);
            manifests[name] = manifest;
        }

        var phases = config.Data.Mixture?.Select(p => new MixturePhase(p.Until, p.Weights)).ToList()
            ?? [MixturePhase.Constant(manifests.ToDictionary(m => m.Key, m => (double)m.Value.Train.Tokens, StringComparer.Ordinal))];

        var validation = config.Data.ValidationDataset;
        var windows = Data.ValidationWindows.Select(TokenDataset.ReadTokens(validation.Path, DatasetSplit.Validation), seq, config.Training.EvalWindows);
        if (windows.GetLength(0) == 0)
            throw new ConfigException(config.Data.Validation is null ? "data.datasets[0]" : "data.validation",
                $"dataset '{validation.Name}' has no validation split of at least {seq + 1} tokens; prepare it with a validation fraction");
        return new RunData { TokenizerHash = tokenizerHash, Train = train, Phases = phases, ValidationWindows = windows, Manifests = manifests };
    }

    static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}
