using Moe.Model.IO;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Moe.Model.Checkpoints;
using Moe.Model.Config;
using Moe.Model.Data;
using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Model.Training;

/// <summary>One file of a checkpoint as its manifest records it.</summary>
public sealed record CheckpointFile(string Name, long Bytes, string Sha256);

/// <summary>A checkpoint folder's <c>manifest.json</c>: the SHA-256 of every file, written last.</summary>
public sealed record CheckpointManifest(string Format, long Step, IReadOnlyList<CheckpointFile> Files)
{
    public const string CurrentFormat = "moe-checkpoint-manifest/1";
}

/// <summary>A verified checkpoint on disk.</summary>
public sealed record Checkpoint(string Directory, TrainingState State)
{
    public string ModelPath => Path.Combine(Directory, CheckpointStore.ModelFile);
    public string OptimizerPath => Path.Combine(Directory, CheckpointStore.OptimizerFile);
    public string TokenizerPath => Path.Combine(Directory, CheckpointStore.TokenizerFile);
}

/// <summary>
/// Checkpoints of a run under <c>{run}/checkpoints/step-NNNNNNNN/</c>: <c>model.safetensors</c>,
/// <c>optimizer.safetensors</c>, <c>tokenizer.json</c>, <c>state.json</c> and <c>manifest.json</c>. A checkpoint is built in a
/// hidden temporary folder, every file flushed to disk, and renamed into place, so a crash never leaves a partial one;
/// loading re-hashes every file and refuses a corrupted or truncated checkpoint. Keeps the newest K and the best.
/// </summary>
public sealed class CheckpointStore(string runDirectory)
{
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string TokenizerFile = "tokenizer.json";
    public const string StateFile = "state.json";
    public const string ManifestFile = "manifest.json";
    const string Prefix = "step-";

    public string Root { get; } = Path.Combine(Path.GetFullPath(runDirectory), "checkpoints");

    public static string NameOf(long step) => Prefix + step.ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>Writes checkpoint <paramref name="state"/>.Step; <paramref name="writeTensors"/> writes the two safetensors files into the folder it is given.</summary>
    public Checkpoint Save(TrainingState state, string tokenizerPath, Action<string> writeTensors)
    {
        Directory.CreateDirectory(Root);
        var final = Path.Combine(Root, NameOf(state.Step));
        var temp = Path.Combine(Root, $".{NameOf(state.Step)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            writeTensors(temp);
            foreach (var required in new[] { ModelFile, OptimizerFile })
                if (!File.Exists(Path.Combine(temp, required))) throw new InvalidOperationException($"checkpoint writer did not write {required}");
            AtomicFile.WriteAllBytes(Path.Combine(temp, TokenizerFile), File.ReadAllBytes(tokenizerPath));
            AtomicFile.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, ConfigLoader.Json));
            var files = new[] { ModelFile, OptimizerFile, TokenizerFile, StateFile }.Select(f => Describe(Path.Combine(temp, f))).ToList();
            AtomicFile.WriteAllText(Path.Combine(temp, ManifestFile),
                JsonSerializer.Serialize(new CheckpointManifest(CheckpointManifest.CurrentFormat, state.Step, files), ConfigLoader.Json));
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true); // a re-run of the same step replaces it
            Directory.Move(temp, final);
            AtomicFile.SyncDirectory(Root);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return new Checkpoint(final, state);
    }

    /// <summary>Steps of the complete checkpoints present, ascending (temporary folders are ignored).</summary>
    public IReadOnlyList<long> Steps() =>
        !Directory.Exists(Root) ? [] :
        Directory.EnumerateDirectories(Root, Prefix + "*")
            .Select(d => Path.GetFileName(d)[Prefix.Length..])
            .Select(s => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : -1)
            .Where(s => s >= 0 && File.Exists(Path.Combine(Root, NameOf(s), ManifestFile)))
            .Order().ToList();

    public Checkpoint? LoadLatest() => Steps() is { Count: > 0 } steps ? Load(Path.Combine(Root, NameOf(steps[^1]))) : null;

    /// <summary>Verifies the manifest (every file present, size and SHA-256 equal) and reads the state.</summary>
    public static Checkpoint Load(string directory)
    {
        var dir = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(dir)) throw new CheckpointException(dir, "no such checkpoint folder");
        var manifestPath = Path.Combine(dir, ManifestFile);
        if (!File.Exists(manifestPath)) throw new CheckpointException(dir, $"{ManifestFile} is missing (incomplete checkpoint)");
        CheckpointManifest manifest;
        try { manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(manifestPath), ConfigLoader.Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new CheckpointException(dir, $"{ManifestFile} is not valid ({e.Message})"); }
        if (manifest.Format != CheckpointManifest.CurrentFormat) throw new CheckpointException(dir, $"manifest format '{manifest.Format}' is not {CheckpointManifest.CurrentFormat}");
        foreach (var required in new[] { ModelFile, OptimizerFile, TokenizerFile, StateFile })
            if (manifest.Files.All(f => f.Name != required)) throw new CheckpointException(dir, $"manifest does not list {required}");
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(dir, file.Name);
            if (!File.Exists(path)) throw new CheckpointException(dir, $"{file.Name} is missing");
            var actual = Describe(path);
            if (actual.Bytes != file.Bytes) throw new CheckpointException(dir, $"{file.Name} has {actual.Bytes} bytes, the manifest says {file.Bytes} (truncated?)");
            if (actual.Sha256 != file.Sha256) throw new CheckpointException(dir, $"{file.Name} does not match its SHA-256 in the manifest (corrupted)");
        }
        TrainingState state;
        try { state = JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(Path.Combine(dir, StateFile)), ConfigLoader.Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new CheckpointException(dir, $"{StateFile} is not valid ({e.Message})"); }
        if (state.Format != TrainingState.CurrentFormat) throw new CheckpointException(dir, $"state format '{state.Format}' is not {TrainingState.CurrentFormat}");
        if (state.Step != manifest.Step) throw new CheckpointException(dir, $"state step {state.Step} differs from manifest step {manifest.Step}");
        return new Checkpoint(dir, state);
    }

    /// <summary>
    /// A checkpoint folder as given, or the newest checkpoint of a run folder (<c>{run}/checkpoints/step-*</c>).
    /// </summary>
    public static Checkpoint Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(Path.Combine(full, ManifestFile)) || !System.IO.Directory.Exists(Path.Combine(full, "checkpoints"))) return Load(full);
        return new CheckpointStore(full).LoadLatest() ?? throw new CheckpointException(full, "the run has no complete checkpoint yet");
    }

    /// <summary>Rebuilds the model a checkpoint holds, on <paramref name="device"/> in the dtype it was saved in.</summary>
    public static MoeTransformer LoadModel(Checkpoint checkpoint, Device device)
    {
        var model = new MoeTransformer(checkpoint.State.Config.Model);
        try
        {
            model.to(device);
            var dtype = SafeTensors.ReadHeader(checkpoint.ModelPath).Find("tok_embeddings.weight")?.DType;
            if (dtype is not null && SafeTensors.ScalarTypeOf(dtype) is var t && t != ScalarType.Float32) model.ToComputeDtype(t);
            ModelWeights.Load(model, checkpoint.ModelPath);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Deletes all but the newest <paramref name="keepLast"/> checkpoints and the one with the lowest validation loss.</summary>
    public IReadOnlyList<long> ApplyRetention(int keepLast, long? bestStep)
    {
        var steps = Steps();
        var keep = steps.TakeLast(keepLast).ToHashSet();
        if (bestStep is { } b) keep.Add(b);
        var deleted = steps.Where(s => !keep.Contains(s)).ToList();
        foreach (var s in deleted) TryDelete(Path.Combine(Root, NameOf(s)));
        return deleted;
    }

    /// <summary>Removes temporary folders a crash left behind.</summary>
    public void CleanTemporary()
    {
        if (!Directory.Exists(Root)) return;
        foreach (var d in Directory.EnumerateDirectories(Root, "." + Prefix + "*")) TryDelete(d);
    }

    static CheckpointFile Describe(string path)
    {
        using var stream = File.OpenRead(path);
        return new CheckpointFile(Path.GetFileName(path), stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A checkpoint that cannot be used, with the folder and the reason.</summary>
public sealed class CheckpointException(string directory, string problem) : Exception($"checkpoint '{directory}': {problem}")
{
    public string Directory { get; } = directory;
}
