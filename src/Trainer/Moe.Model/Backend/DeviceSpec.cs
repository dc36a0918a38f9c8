using TorchSharp;

namespace Moe.Model.Backend;

/// <summary>A parsed device: cpu (Index -1), or cuda with an index (plain "cuda" means 0).</summary>
public sealed record DeviceSpec(DeviceType Type, int Index)
{
    public torch.Device ToTorch() => Type == DeviceType.CPU ? new torch.Device(DeviceType.CPU) : new torch.Device(Type, Index);

    public override string ToString() => Type == DeviceType.CPU ? "cpu" : $"cuda:{Index}";
}
