namespace Moe.Platform.Scheduling;

/// <summary>
/// One GPU as its worker reports it. <paramref name="FreeMemoryBytes"/> is what is free now (other processes may use
/// some); <paramref name="TotalMemoryBytes"/> decides whether a request could ever fit.
/// </summary>
public sealed record GpuInfo(int Index, string Name, long TotalMemoryBytes, long FreeMemoryBytes);
