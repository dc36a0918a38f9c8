using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Model.Training;

/// <summary>Mean next-token cross-entropy over fixed windows, in eval mode (eval capacity factor, no router noise).</summary>
public static class ValidationLoss
{
    /// <param name="windows">[n, seq + 1] token windows: inputs are the first seq, targets the last seq.</param>
    /// <param name="balance">When given, every batch's router statistics are added to it.</param>
    public static double Compute(MoeTransformer model, long[,] windows, int batchSize, Device device, RouterBalance? balance = null)
    {
        int count = windows.GetLength(0), width = windows.GetLength(1);
        if (count == 0) throw new ArgumentException("no validation windows", nameof(windows));
        double sum = 0;
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var all = tensor(windows, device: device);
            for (var start = 0; start < count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(batchSize, count - start);
                var batch = all.narrow(0, start, n);
                var output = model.Forward(batch.narrow(1, 0, width - 1), batch.narrow(1, 1, width - 1));
                balance?.Add(output.RouterStats);
                sum += output.LmLoss!.to(ScalarType.Float64).item<double>() * n;
            }
        }
        finally { model.train(wasTraining); }
        return sum / count;
    }
}
