using System.Text.Json.Nodes;
using Moe.Model.Checkpoints;

namespace Moe.Model.Tests.Reference;

/// <summary>
/// The fp32 cross-language check (docs/benchmarks.md, "Correctness"): each case is exported exactly as
/// <c>Moe.Bench export</c> exports it (<see cref="ReferenceExport"/>), then bench/reference/moe_reference.py, an
/// independent plain-PyTorch implementation, loads the weights with strict=True, runs the same training-mode forward
/// and must match the logits, every loss (to 1e-4) and the tokens each expert received in every MoE layer.
/// Needs torch for the reference's python (<see cref="PyTorchReference"/>): ./platform setup installs it.
/// Serial with the other seeded tests, so an export depends on its seed alone and a failure reproduces with
/// <c>Moe.Bench export --config C --seed 1234 --batch 2 --seq S --set ...</c>.
/// </summary>
[Collection(MoeTestModels.Collection)]
public sealed class PyTorchReferenceTests(ITestOutputHelper output) : IDisposable
{
    const int Batch = 2;
    const int Seq = 32;
    static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Case name: preset file of configs/, sequence length, config overrides.</summary>
    static readonly Dictionary<string, (string Preset, int Seq, string[] Overrides)> Cases = new()
    {
        ["default"] = ("default", Seq, []),
        ["switch"] = ("switch", Seq, []),
        ["st-moe"] = ("st-moe", Seq, []),
        // Seq 32 is under the preset's window of 128: a window of 16 puts the sliding-window mask to work.
        ["mixtral, sliding window 16"] = ("mixtral", Seq, ["sliding_window=16"]),
        ["dbrx"] = ("dbrx", Seq, []),
        ["openmoe"] = ("openmoe", Seq, []),
        ["deepseek-v2"] = ("deepseek-v2", Seq, []),
        ["deepseek-v3"] = ("deepseek-v3", Seq, []),
        ["dense-deepseek-v3"] = ("dense-deepseek-v3", Seq, []),
        ["soft gating + importance loss"] = ("default", Seq, ["moe.router.gating=soft", "moe.balance.importance_weight=0.01"]),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    readonly string root = Directory.CreateTempSubdirectory("moe-reference-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Export_matches_the_PyTorch_reference(string name)
    {
        PyTorchReference.RequireTorch();
        var (preset, seq, overrides) = Cases[name];
        var dir = Export(preset, seq, overrides);
        AssertPasses(dir, name, Repro(preset, seq, overrides));
    }

    /// <summary>
    /// Batch-prioritised routing with real drops: at train factor 0.6 each expert of `default` has
    /// ceil(0.6 x 64 x 2 / 8) = 10 slots for 128 assignments, so at least 48 (37.5%) drop in every MoE layer, and
    /// which ones drop depends on the gate order the reference must reproduce.
    /// </summary>
    [Fact]
    public void Capacity_drops_under_the_probability_policy_match_the_PyTorch_reference()
    {
        PyTorchReference.RequireTorch();
        var dir = Export("default", Seq, ["moe.capacity.drop_policy=probability", "moe.capacity.train_factor=0.6"], out var expected);
        var layers = expected["router"]!.AsArray();
        Assert.NotEmpty(layers);
        foreach (var layer in layers)
        {
            Assert.Equal(10, layer!["capacity"]!.GetValue<long>());
            Assert.True(layer["dropped_fraction"]!.GetValue<double>() >= 0.375,
                $"layer {layer["layer"]} dropped only {layer["dropped_fraction"]} of its assignments");
        }
        AssertPasses(dir, "default, drop_policy=probability, train_factor=0.6",
            Repro("default", Seq, ["moe.capacity.drop_policy=probability", "moe.capacity.train_factor=0.6"]));
    }

    /// <summary>
    /// The check is not vacuous: the same export that passes fails once one expert weight tensor is nudged, and it
    /// fails by comparison (the reference prints FAIL), not by refusing the file.
    /// </summary>
    [Fact]
    public void A_perturbed_weight_fails_the_PyTorch_reference_check()
    {
        PyTorchReference.RequireTorch();
        var dir = Export("default", Seq, []);
        AssertPasses(dir, "default, unperturbed", Repro("default", Seq, []));

        const string perturbed = "blocks.1.moe.experts.down";
        var weights = Path.Combine(dir, ReferenceExport.WeightsFile);
        var layout = Layout(weights);
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(weights);
        try
        {
            Assert.True(tensors.ContainsKey(perturbed), $"no tensor '{perturbed}' in [{string.Join(", ", tensors.Keys)}]");
            using (no_grad()) tensors[perturbed].add_(0.05f);
            SafeTensors.Save(weights, tensors, metadata);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        Assert.Equal(layout, Layout(weights)); // same names, dtypes and shapes: only values changed

        var outcome = PyTorchReference.Check(dir, CheckTimeout);
        output.WriteLine($"perturbed {perturbed} (+0.05): {outcome}");
        Assert.False(outcome.TimedOut, $"the reference check timed out: {outcome}");
        Assert.True(outcome.ExitCode != 0, $"the check passed although {perturbed} was perturbed: {outcome}");
        Assert.True(outcome.Output.Contains("\nFAIL\n", StringComparison.Ordinal) && outcome.Output.Contains("logits", StringComparison.Ordinal),
            $"the check should fail by comparison (printing FAIL), not by error: {outcome}");
    }

    static string[] Layout(string safetensors) =>
        SafeTensors.ReadHeader(safetensors).Tensors.Select(t => $"{t.Name} {t.DType} [{string.Join(", ", t.Shape)}]").ToArray();

    string Export(string preset, int seq, string[] overrides) => Export(preset, seq, overrides, out _);

    string Export(string preset, int seq, string[] overrides, out JsonObject expected)
    {
        var cfg = ConfigLoader.LoadFile(Path.Combine(RepoPaths.Root, "configs", preset + ".json"), overrides);
        var dir = Path.Combine(root, $"{preset}-{Directory.GetDirectories(root).Length}");
        expected = ReferenceExport.Write(cfg, dir, ReferenceExport.DefaultSeed, Batch, seq);
        output.WriteLine($"exported {preset} [{string.Join(" ", overrides)}] batch {Batch} x seq {seq}: loss {expected["loss"]}");
        return dir;
    }

    void AssertPasses(string dir, string name, string repro)
    {
        var outcome = PyTorchReference.Check(dir, CheckTimeout);
        output.WriteLine($"{name}: {outcome}");
        Assert.True(outcome.ExitCode == 0, $"{name}: TorchSharp and the PyTorch reference disagree, {outcome}\nTo reproduce: {repro}");
    }

    /// <summary>The same export and check by hand (docs/benchmarks.md).</summary>
    static string Repro(string preset, int seq, string[] overrides) =>
        $"dotnet run --project bench/Moe.Bench -c Release -- export --config configs/{preset}.json --out /tmp/moe-export "
        + $"--seed {ReferenceExport.DefaultSeed} --batch {Batch} --seq {seq}{string.Concat(overrides.Select(o => $" --set {o}"))} "
        + $"&& {PyTorchReference.Python} bench/reference/moe_reference.py check /tmp/moe-export";
}
