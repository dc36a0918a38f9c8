using System.Text.Json.Nodes;
using Moe.Model.Checkpoints;
using static TorchSharp.torch;

namespace Moe.Bench;

/// <summary>
/// <c>export</c>: the command-line face of <see cref="ReferenceExport"/>, which writes the deterministic fp32 weights,
/// tokens, logits and losses that <c>bench/reference/moe_reference.py check</c> compares against (docs/benchmarks.md).
/// </summary>
static class ExportCommand
{
    public static int Run(BenchArgs a)
    {
        var configPath = a.Require("config");
        var outDir = a.Require("out");
        var (seed, batch, seq) = (a.Int("seed", (int)ReferenceExport.DefaultSeed), a.Int("batch", 2), a.Int("seq", 64));
        var ctx = BenchContext.Create(a);
        a.ThrowIfUnread();
        if (ctx.Dtype != ScalarType.Float32) throw new UsageException("export writes fp32 references only (drop --dtype)");

        var cfg = ctx.LoadConfig(configPath);
        if (ReferenceExport.Refusal(cfg, seq) is { } reason) throw new UsageException($"{configPath}: {reason}");

        BenchContext.Log($"export: {cfg.Name}, seed {seed}, batch {batch} x seq {seq}, training mode, fp32 on {ctx.DeviceName}");
        var expected = ReferenceExport.Write(cfg, outDir, seed, batch, seq, ctx.Spec);

        var summary = $"exported {cfg.Name} to {Path.GetFullPath(outDir)}: loss {expected["loss"]}, lm {expected["lm_loss"]}, "
            + $"aux {expected["aux_loss"]}, mtp {expected["mtp_loss"]?.ToJsonString() ?? "none"}";
        Console.WriteLine(summary);
        ctx.Emit(new JsonObject { ["kind"] = "export", ["impl"] = "torchsharp", ["config"] = cfg.Name, ["out"] = Path.GetFullPath(outDir) });
        ctx.Finish();
        return 0;
    }
}
