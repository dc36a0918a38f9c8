using static Moe.Model.Tests.MoeTestModels;

namespace Moe.Model.Tests;

/// <summary>The two expert kernels (sorted segments, padded buffer) compute the same outputs and gradients.</summary>
[Collection(Collection)]
public class MoeDispatchTests
{
    [Theory]
    [InlineData("moe.top_k=2")]                                                                  // dropless, top-2
    [InlineData("moe.top_k=1", "moe.capacity={\"train_factor\":0.5,\"dropless\":false}")]      // real drops by position
    [InlineData("moe.top_k=2", "moe.capacity={\"train_factor\":0.75,\"dropless\":false,\"drop_policy\":\"probability\"}")]
    [InlineData("moe.top_k=4", "moe.num_shared_experts=1")]                                      // every expert, plus shared
    [InlineData("moe.num_experts=8", "moe.top_k=2", "moe.router={\"score\":\"sigmoid\"}")]       // some experts get nothing
    public void SegmentsEqualPadded(params string[] overrides)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var segments = Layer(Tiny([.. overrides, "moe.dispatch=segments"]), initStd: 0.5);
        var padded = Layer(Tiny([.. overrides, "moe.dispatch=padded"]), initStd: 0.5);
        foreach (var (name, p) in segments.named_parameters()) Set(Param(padded, name), p);
        segments.train();
        padded.train();

        var x = randn(3, 5, 8);
        var (ySeg, auxSeg) = segments.forward(x);
        var (yPad, auxPad) = padded.forward(x);
        AssertClose(Floats(yPad).Select(v => (double)v).ToArray(), Floats(ySeg), 1e-5, "output");
        Assert.Equal(Floats(auxPad.Stats), Floats(auxSeg.Stats));

        (ySeg.pow(2).sum() + auxSeg.AuxLoss).backward();
        (yPad.pow(2).sum() + auxPad.AuxLoss).backward();
        foreach (var (name, p) in segments.named_parameters())
            AssertClose(Floats(Param(padded, name).grad!).Select(v => (double)v).ToArray(), Floats(p.grad!), 1e-5, $"gradient of {name}");
    }
}
