using System.Text.Json.Nodes;
using Moe.Model.Config;
using Moe.Model.Training;
using Moe.Platform.Datasets;

namespace Moe.Platform.Grains.Runs;

/// <summary>
/// Admits a submitted run config: platform dataset references are resolved and pinned to a version (so a retried or
/// resumed run trains on the same tokens), the tokenizer defaults to the one the datasets were prepared with, every
/// referenced dataset must share it, and the result passes the Trainer's own validation. Errors name the field as the
/// config spells it, under <c>config.</c>.
/// </summary>
public static class RunConfigAdmission
{
    /// <summary>Returns the config as it will be stored and run (references pinned).</summary>
    public static async Task<string> AdmitAsync(string configJson, Func<DatasetReference, Task<DatasetVersionSnapshot>> resolve)
    {
        JsonObject config;
        try
        {
            config = ConfigLoader.ParseObject(configJson, "config"); // the trainer's parse options: a key given twice is refused
        }
        catch (ConfigException e)
        {
            throw new PlatformException("config", e.Problem);
        }
        if (config["model"] is JsonValue)
            throw new PlatformException("config.model", "must be the model object itself (a path names a file no worker is sure to have)");
        try
        {
            // Its shape first (types, unknown fields, nulls, non-finite numbers): a malformed config costs no dataset lookup.
            ConfigLoader.Deserialize<RunConfig>((JsonObject)config.DeepClone(), "config");
        }
        catch (ConfigException e)
        {
            throw new PlatformException("config." + e.Field, e.Problem);
        }

        var tokenizers = new List<(string Field, DatasetVersionSnapshot Version)>();
        if (config["data"]?["datasets"] is JsonArray datasets)
        {
            for (int i = 0; i < datasets.Count; i++)
            {
                string field = $"config.data.datasets[{i}].path";
                if (datasets[i]?["path"] is not JsonValue pathValue || !pathValue.TryGetValue<string>(out var path)) continue;
                if (!DatasetReference.IsReference(path)) continue;
                var version = await ResolveAsync(DatasetReference.Parse(path, field), field, resolve);
                datasets[i]!["path"] = new DatasetReference(version.DatasetId, version.Version).ToString();
                tokenizers.Add((field, version));
            }
        }

        string tokenizerField = "config.tokenizer";
        var tokenizer = config["tokenizer"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
        if (string.IsNullOrWhiteSpace(tokenizer) && tokenizers.Count > 0)
        {
            var first = tokenizers[0].Version;
            config["tokenizer"] = new DatasetReference(first.DatasetId, first.Version).ToString();
        }
        else if (DatasetReference.IsReference(tokenizer))
        {
            var version = await ResolveAsync(DatasetReference.Parse(tokenizer!, tokenizerField), tokenizerField, resolve);
            config["tokenizer"] = new DatasetReference(version.DatasetId, version.Version).ToString();
            tokenizers.Insert(0, (tokenizerField, version));
        }
        if (tokenizers.Count > 0)
        {
            var expected = tokenizers[0];
            foreach (var (field, version) in tokenizers.Skip(1))
                if (version.TokenizerSha256 != expected.Version.TokenizerSha256)
                    throw new PlatformException(field,
                        $"dataset '{version.DatasetId}' version {version.Version} was prepared with another tokenizer than " +
                        $"'{expected.Version.DatasetId}' version {expected.Version.Version}; one run needs one tokenizer");
        }

        string admitted = config.ToJsonString();
        try
        {
            // Paths only need to be well-formed here: workers resolve references and the trainer checks the files.
            RunConfigLoader.Parse(admitted, baseDir: "/", source: "config");
        }
        catch (ConfigException e)
        {
            throw new PlatformException(e.Field == "config" ? "config" : "config." + e.Field, e.Problem);
        }
        return admitted;
    }

    private static async Task<DatasetVersionSnapshot> ResolveAsync(
        DatasetReference reference, string field, Func<DatasetReference, Task<DatasetVersionSnapshot>> resolve)
    {
        try
        {
            return await resolve(reference);
        }
        catch (PlatformException e)
        {
            throw new PlatformException(field, e.Problem); // the dataset's own words, at the config's field
        }
    }
}
