using static Moe.Model.Tests.Transformer.TransformerTestKit;

namespace Moe.Model.Tests.Transformer;

public class InterleavingTests
{
    // 8 blocks numbered 0..7. Block i is MoE when i >= K and (i - K) mod P == P - 1.
    [Theory]
    [InlineData(1, 0, new[] { 0, 1, 2, 3, 4, 5, 6, 7 })] // Mixtral: every block
    [InlineData(2, 0, new[] { 1, 3, 5, 7 })]             // Switch/GShard: every other block, starting with the second
    [InlineData(4, 0, new[] { 3, 7 })]                   // OpenMoE: every fourth
    [InlineData(1, 1, new[] { 1, 2, 3, 4, 5, 6, 7 })]    // DeepSeek: first block dense, the rest MoE
    [InlineData(1, 3, new[] { 3, 4, 5, 6, 7 })]
    [InlineData(2, 1, new[] { 2, 4, 6 })]                // dense 0, then (i - 1) mod 2 == 1 -> 2, 4, 6
    public void MoeBlocksSitWhereEveryAndFirstDensePutThem(int every, int firstDense, int[] expected)
    {
        var c = Tiny("n_layers=8", $"moe.every={every}", $"moe.first_dense_blocks={firstDense}");
        Assert.Equal(expected, Enumerable.Range(0, 8).Where(c.IsMoeBlock).ToArray());

        var model = new MoeTransformer(c);
        Assert.Equal(expected, model.MoeLayers.Select(l => l.Layer).ToArray());
        // Every block has exactly one feed-forward: a dense SwiGLU ("ffn") or an MoE layer ("moe").
        var names = model.named_modules().Select(m => m.name).ToHashSet();
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(expected.Contains(i), names.Contains($"blocks.{i}.moe"));
            Assert.Equal(!expected.Contains(i), names.Contains($"blocks.{i}.ffn"));
        }
    }

    [Fact]
    public void WithoutMoeEveryBlockIsDense()
    {
        var c = Tiny("moe=null", "n_layers=3");
        Assert.Null(c.Moe);
        Assert.DoesNotContain(Enumerable.Range(0, 3), c.IsMoeBlock);
        var model = new MoeTransformer(c);
        Assert.Empty(model.MoeLayers);
        using var scope = TorchSharp.torch.NewDisposeScope();
        var tokens = TorchSharp.torch.randint(32, [1, 4]);
        var output = model.Forward(tokens, tokens);
        Assert.Empty(output.RouterStats);
        Assert.Equal(0.0, Scalar(output.AuxLoss!));
    }

    [Fact]
    public void MtpBlocksFollowTheMainBlocksInLayerNumbering()
    {
        // n_layers 3, every 2 -> block 1 MoE, last block 2 dense, so MTP blocks are dense: no extra MoE layers.
        var dense = new MoeTransformer(Tiny("n_layers=3", "moe.every=2", "mtp.depth=2"));
        Assert.Equal(new[] { 1 }, dense.MoeLayers.Select(l => l.Layer).ToArray());
        // n_layers 4, every 2 -> blocks 1, 3 MoE; last block MoE so MTP blocks (layers 4, 5) are MoE too.
        var moe = new MoeTransformer(Tiny("n_layers=4", "moe.every=2", "mtp.depth=2"));
        Assert.Equal(new[] { 1, 3, 4, 5 }, moe.MoeLayers.Select(l => l.Layer).ToArray());
    }

    [Fact]
    public void ConfigurationWithNoMoeBlockIsRejected()
    {
        // every 4 over 3 blocks: block 3 would be the first MoE block but does not exist.
        var e = Assert.Throws<Moe.Model.Config.ConfigException>(() => Tiny("n_layers=3", "moe.every=4"));
        Assert.Equal("moe.every", e.Field);
    }
}
