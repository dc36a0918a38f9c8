
namespace Moe.Model.Tests;

/// <summary>The presets in configs/: valid, shaped like their papers, and paired with fair dense baselines.</summary>
public class PresetTests
{
    static readonly string ConfigDir = Path.Combine(RepoPaths.Root, "configs");

    public static readonly TheoryData<string> Systems =
        new("switch", "st-moe", "mixtral", "dbrx", "openmoe", "deepseek-v2", "deepseek-v3");

    static ModelConfig Load(string relative) => ConfigLoader.LoadFile(Path.Combine(ConfigDir, relative));

    [Fact]
    public void EveryPresetFileLoadsAndValidates()
    {
        // configs/train holds run configs (RunConfigTests load those).
        var files = Directory.GetFiles(ConfigDir, "*.json", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(Path.Combine(ConfigDir, "train") + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToArray();
        Assert.True(files.Length >= 2 * 2 * Systems.Count + 1, $"expected every system, its dense baseline and GPU variants, found {files.Length}");
        foreach (var file in files) ConfigLoader.LoadFile(file); // throws, naming the field, if invalid
    }

    [Theory, MemberData(nameof(Systems))]
    public void DenseBaselineHasTheSameActiveParameters(string system)
    {
        foreach (var prefix in new[] { "", "gpu/" })
        {
            var moe = ModelSize.Of(Load($"{prefix}{system}.json"));
            var dense = Load($"{prefix}dense-{system}.json");
            Assert.Null(dense.Moe);
            var ratio = (double)ModelSize.Of(dense).ActivePerToken / moe.ActivePerToken;
            // Equal FFN weights per token; only the MoE model's router weights (E x d per layer) differ.
            Assert.InRange(ratio, 0.98, 1.02);
            Assert.True(moe.Total > moe.ActivePerToken, $"{system}: an MoE model must have inactive experts");
        }
    }

    [Theory, MemberData(nameof(Systems))]
    public void GpuVariantIsAboutHalfABillionParameters(string system)
    {
        var total = ModelSize.Of(Load($"gpu/{system}.json")).Total;
        Assert.InRange(total, 300_000_000L, 800_000_000L);
    }

    [Fact]
    public void PresetsFollowTheirPapers()
    {
        var sw = Load("switch.json").Moe!;
        Assert.Equal((1, false, 1.25, 2), (sw.TopK, sw.Router.NormalizeTopK, sw.Capacity.TrainFactor, sw.Every));
        Assert.True(sw.Balance.SwitchWeight > 0);

        var st = Load("st-moe.json").Moe!;
        Assert.Equal((2, 1.25, 2.0), (st.TopK, st.Capacity.TrainFactor, st.Capacity.EvalFactor));
        Assert.True(st.Balance.ZLossWeight > 0);

        var mixtral = Load("mixtral.json");
        Assert.True(mixtral.KvHeads < mixtral.NHeads && mixtral.SlidingWindow is not null);
        Assert.Equal((8, 2, 1), (mixtral.Moe!.NumExperts, mixtral.Moe.TopK, mixtral.Moe.Every));

        var dbrx = Load("dbrx.json").Moe!;
        Assert.Equal((16, 4), (dbrx.NumExperts, dbrx.TopK));

        var openmoe = Load("openmoe.json");
        Assert.Equal([3, 7], Enumerable.Range(0, openmoe.NLayers).Where(openmoe.IsMoeBlock));

        var v2 = Load("deepseek-v2.json").Moe!;
        Assert.True(v2.NumSharedExperts > 0 && v2.Balance.GroupWeight > 0 && v2.Balance.Groups > 1 && v2.FirstDenseBlocks == 1);

        var v3 = Load("deepseek-v3.json");
        Assert.Equal(RouterScore.Sigmoid, v3.Moe!.Router.Score);
        Assert.True(v3.Moe.Balance.AuxFree && v3.Mtp is { Depth: >= 1 });
    }
}
