
namespace Moe.Model.Tests;

/// <summary>Tensor contents as plain arrays for assertions (imported into every test file by the project).</summary>
public static class TensorData
{
    public static float[] Floats(Tensor t)
    {
        using var c = t.detach().cpu().to(ScalarType.Float32).contiguous();
        return c.data<float>().ToArray();
    }

    public static long[] Longs(Tensor t)
    {
        using var c = t.detach().cpu().to(ScalarType.Int64).contiguous();
        return c.data<long>().ToArray();
    }
}
