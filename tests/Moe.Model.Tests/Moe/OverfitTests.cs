using static Moe.Model.Tests.MoeTestModels;

namespace Moe.Model.Tests;

/// <summary>A tiny MoE transformer can memorise one fixed batch: gradients reach every part through the routing.</summary>
[Collection(Collection)]
public class MoeOverfitTests(ITestOutputHelper output)
{
    public static readonly TheoryData<string, string[]> Setups = new()
    {
        { "dropless top-2, shared expert, switch loss", ["moe.num_shared_experts=1", "moe.balance={\"switch_weight\":0.01}"] },
        { "capacity 2.0 top-1 (Switch), z-loss", ["moe.top_k=1", "moe.router={\"normalize_top_k\":false}",
            "moe.capacity={\"train_factor\":2.0,\"eval_factor\":2.0}", "moe.balance={\"switch_weight\":0.01,\"z_loss_weight\":0.001}"] },
        { "sigmoid aux-free, MTP", ["moe.router={\"score\":\"sigmoid\"}", "moe.balance={\"aux_free\":true,\"aux_free_gamma\":0.01}", "mtp={\"depth\":1}"] },
    };

    [Theory, MemberData(nameof(Setups))]
    public void TinyMoeOverfitsOneBatch(string name, string[] overrides)
    {
        using var scope = NewDisposeScope();
        manual_seed(41);
        string[] common = ["vocab_size=32", "d_model=32", "n_layers=2", "n_heads=4", "max_seq_len=16", "ffn_hidden=64",
            "init_std=0.05", "moe.num_experts=4", "moe.expert_hidden=32"];
        var c = Tiny([.. common, .. overrides]);
        using var model = new MoeTransformer(c);
        var data = randint(0, 32, [4, 17]);
        var tokens = data.narrow(1, 0, 16);
        var targets = data.narrow(1, 1, 16);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-2, weight_decay: 0.0);
        model.train();

        double first = 0, lm = double.NaN;
        var step = 0;
        for (; step < 400; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var result = model.Forward(tokens, targets);
            lm = Scalar(result.LmLoss!);
            if (step == 0) first = lm;
            if (lm < 0.1) break;
            result.Loss!.backward();
            optimizer.step();
            model.UpdateAuxFreeBiases(result.RouterStats);
        }
        output.WriteLine($"{name}: LM loss {first:F3} -> {lm:F4} after {step} steps");
        // Starts near ln 32 = 3.47 (uniform guess) and memorises the 64 next tokens.
        Assert.InRange(first, 3.0, 4.0);
        Assert.True(lm < 0.1, $"{name}: LM loss {lm:F4} after {step} steps (start {first:F3})");
    }
}
