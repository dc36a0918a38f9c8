using System.Text.Json.Nodes;
using Moe.Platform;
using Moe.Platform.Datasets;

namespace Moe.Silos;

/// <summary>
/// Reads a run config file the way the trainer does and makes it self-contained for the platform: a model given as a
/// path is inlined, and relative tokenizer and dataset paths become absolute (a worker does not run in this folder).
/// Dataset references (<c>dataset:&lt;id&gt;</c>) are left for the run to resolve.
/// </summary>
public static class RunConfigFile
{
    public static string Read(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new PlatformException("--config", $"file '{full}' does not exist");
        var directory = Path.GetDirectoryName(full)!;
        var config = Parse(full) as JsonObject ?? throw new PlatformException("--config", $"{full} is not a JSON object");
        if (config["model"] is JsonValue model && model.TryGetValue<string>(out var modelPath))
        {
            var modelFile = Path.GetFullPath(modelPath, directory);
            if (!File.Exists(modelFile)) throw new PlatformException("model", $"model config '{modelFile}' does not exist");
            config["model"] = Parse(modelFile);
        }
        if (config["tokenizer"] is JsonValue t && t.TryGetValue<string>(out var tokenizer) && tokenizer.Length > 0 && !DatasetReference.IsReference(tokenizer))
            config["tokenizer"] = Path.GetFullPath(tokenizer, directory);
        if (config["data"]?["datasets"] is JsonArray datasets)
            foreach (var dataset in datasets)
                if (dataset?["path"] is JsonValue p && p.TryGetValue<string>(out var datasetPath) && !DatasetReference.IsReference(datasetPath))
                    dataset["path"] = Path.GetFullPath(datasetPath, directory);
        return config.ToJsonString();
    }

    /// <summary>A config file as the trainer reads it (comments allowed, a key given twice refused), or a refusal naming the file.</summary>
    private static JsonNode? Parse(string file)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(file), documentOptions: Moe.Model.Config.ConfigLoader.DocumentOptions);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new PlatformException("--config", $"{file} is not valid JSON: {e.Message}");
        }
    }
}
