namespace Moe.Platform.Scheduling;

/// <summary>
/// What a run needs on one worker: <paramref name="Gpus"/> whole GPUs, each with at least
/// <paramref name="GpuMemoryBytes"/> free, and <paramref name="CpuSlots"/> CPU slots. A CPU-only run asks for 0 GPUs.
/// </summary>
public sealed record ResourceRequest(int Gpus, long GpuMemoryBytes, int CpuSlots)
{
    public bool NeedsGpus => Gpus > 0;

    /// <summary>More GPUs than any one machine has (a run asks for GPUs on one worker).</summary>
    public const int MaxGpus = 64;

    /// <summary>More memory per GPU than any GPU has: 4 TiB.</summary>
    public const long MaxGpuMemoryBytes = 4L << 40;

    /// <summary>More CPU slots than any worker is configured with.</summary>
    public const int MaxCpuSlots = 1024;

    /// <summary>Why the request is malformed, or null when it is fine.</summary>
    public string? Problem() =>
        Gpus is < 0 or > MaxGpus ? $"gpus must be between 0 and {MaxGpus}, got {Gpus}"
        : CpuSlots is < 0 or > MaxCpuSlots ? $"cpu_slots must be between 0 and {MaxCpuSlots}, got {CpuSlots}"
        : GpuMemoryBytes is < 0 or > MaxGpuMemoryBytes ? $"gpu_memory_bytes must be between 0 and {MaxGpuMemoryBytes} (4 TiB), got {GpuMemoryBytes}"
        : Gpus == 0 && CpuSlots == 0 ? "asks for no GPUs and no CPU slots"
        : null;

    /// <summary>Refuses a malformed request at submission (the API maps the exception to a 400).</summary>
    public void Validate(string field = "resources")
    {
        if (Problem() is { } problem) throw new PlatformException(field, problem);
    }

    public override string ToString() =>
        Gpus > 0
            ? $"{Gpus} GPU{(Gpus == 1 ? "" : "s")} with {ByteSize.Format(GpuMemoryBytes)} each and {CpuSlots} CPU slots"
            : $"{CpuSlots} CPU slots";
}
