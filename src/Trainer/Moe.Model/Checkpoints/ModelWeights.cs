using static TorchSharp.torch;

namespace Moe.Model.Checkpoints;

/// <summary>
/// A module's weights as one safetensors file: every entry of <c>state_dict()</c> (parameters and persistent buffers)
/// under the name TorchSharp gives it, e.g. <c>blocks.0.attn.wq.weight</c>.
/// </summary>
public static class ModelWeights
{
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Save(path, module.state_dict(), metadata);

    /// <summary>
    /// Copies the file's tensors into the module in place (on the module's devices, converted to its floating-point dtypes).
    /// Refuses, naming the tensors, a file with missing or unexpected names or a shape that differs from the module's.
    /// </summary>
    /// <returns>The file's metadata.</returns>
    public static IReadOnlyDictionary<string, string> Load(nn.Module module, string path)
    {
        using var stream = File.OpenRead(path);
        var header = SafeTensors.ReadHeader(stream, path);
        var state = module.state_dict();
        var inFile = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

        var missing = state.Keys.Where(k => !inFile.ContainsKey(k)).ToList();
        var unexpected = inFile.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing {string.Join(", ", missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected {string.Join(", ", unexpected)}");
            throw new InvalidDataException($"safetensors file '{path}' does not match the model: {string.Join("; ", parts)}");
        }
        foreach (var (name, target) in state)
        {
            var info = inFile[name];
            if (!info.Shape.SequenceEqual(target.shape))
                throw new InvalidDataException(
                    $"safetensors file '{path}': tensor '{name}' has shape [{string.Join(", ", info.Shape)}] but the model expects [{string.Join(", ", target.shape)}]");
            var fileType = SafeTensors.ScalarTypeOf(info.DType);
            if (fileType != target.dtype && !(is_floating_point(fileType) && is_floating_point(target.dtype)))
                throw new InvalidDataException($"safetensors file '{path}': tensor '{name}' is {info.DType} but the model holds {target.dtype}");
        }

        using var noGrad = no_grad();
        foreach (var (name, target) in state)
        {
            using var loaded = SafeTensors.ReadTensor(stream, header, inFile[name]);
            target.copy_(loaded);
        }
        return header.Metadata;
    }

    static bool is_floating_point(ScalarType t) => t is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;
}
