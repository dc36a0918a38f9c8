namespace Moe.Platform.Scheduling;

/// <summary>
/// What a run needs on one worker: <paramref name="Gpus"/> whole GPUs, each with at least
/// <paramref name="GpuMemoryBytes"/> free, and <paramref name="CpuSlots"/> CPU slots. A CPU-only run asks for 0 GPUs.
/// </summary>
public sealed record ResourceRequest(int Gpus, long GpuMemoryBytes, int CpuSlots)
{
    public bool NeedsGpus => Gpus > 0;

    /// <summary>Why the request is malformed, or null when it is fine.</summary>
    public string? Problem() =>
        Gpus < 0 ? $"gpus must be 0 or more, got {Gpus}"
        : CpuSlots < 0 ? $"cpu_slots must be 0 or more, got {CpuSlots}"
        : GpuMemoryBytes < 0 ? $"gpu_memory_bytes must be 0 or more, got {GpuMemoryBytes}"
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
