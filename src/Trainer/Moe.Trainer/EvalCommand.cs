using System.Globalization;
using System.Text.Json.Nodes;
using Moe.Model.Backend;
using Moe.Model.Data;
using Moe.Model.Training;

namespace Moe.Trainer;

/// <summary><c>moe-trainer eval</c>: validation loss and perplexity of a checkpoint on a prepared dataset's validation split.</summary>
public static class EvalCommand
{
    public static int Run(CommandArgs args)
    {
        var checkpointPath = args.Require("checkpoint");
        var dataDir = args.Get("data");
        var deviceText = args.Get("device") ?? "cpu";
        var libtorch = args.Get("libtorch");
        var windows = args.Int("windows", 256);
        var batch = args.Int("batch", 16);
        var json = args.Flag("json");
        args.RejectUnknown();

        var checkpoint = CheckpointStore.Resolve(checkpointPath);
        var config = checkpoint.State.Config;
        dataDir ??= config.Data.ValidationDataset.Path;
        if (!File.Exists(Path.Combine(dataDir, DatasetManifest.FileName))) throw new UsageException($"--data: '{dataDir}' is not a prepared dataset (no {DatasetManifest.FileName})");
        var manifest = TokenDataset.Verify(dataDir);
        if (manifest.VocabularyHash != checkpoint.State.TokenizerHash)
            throw new UsageException($"--data: '{dataDir}' was prepared with another tokenizer than the checkpoint's");
        var seq = config.Training.SeqLen;
        var selected = ValidationWindows.Select(TokenDataset.ReadTokens(dataDir, DatasetSplit.Validation), seq, windows);
        if (selected.GetLength(0) == 0) throw new UsageException($"--data: '{dataDir}' has no validation split of at least {seq + 1} tokens");

        var device = TorchBackend.Initialize(deviceText, libtorch);
        using var model = CheckpointStore.LoadModel(checkpoint, device);
        var loss = ValidationLoss.Compute(model, selected, batch, device);
        if (json)
            Console.WriteLine(new JsonObject
            {
                ["checkpoint"] = checkpoint.Directory, ["step"] = checkpoint.State.Step, ["data"] = Path.GetFullPath(dataDir),
                ["windows"] = selected.GetLength(0), ["seq_len"] = seq, ["val_loss"] = loss, ["val_ppl"] = Math.Exp(loss),
            }.ToJsonString());
        else
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{checkpoint.Directory} (step {checkpoint.State.Step}) on {dataDir}: validation loss {loss:F4}, perplexity {Math.Exp(loss):F2} over {selected.GetLength(0)} windows of {seq} tokens"));
        return 0;
    }
}
