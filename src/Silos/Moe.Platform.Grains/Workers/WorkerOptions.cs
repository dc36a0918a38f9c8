namespace Moe.Platform.Grains.Workers;

/// <summary>How a worker silo's agent runs training jobs (configuration section <c>Worker</c>).</summary>
public sealed class WorkerOptions
{
    /// <summary>The worker's id in the scheduler; by default <see cref="ResolvedWorkerId"/>'s.</summary>
    public string? WorkerId { get; set; }

    /// <summary>Where run folders, spec files and the dataset cache live.</summary>
    public string WorkDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "moe-worker");

    /// <summary>The trainer: <c>moe-trainer.dll</c> (run with this process's dotnet) or a native executable.</summary>
    public string TrainerPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "moe-trainer.dll");

    /// <summary>
    /// Concurrent CPU jobs this worker accepts. One by default: a trainer uses every core, so two would halve each
    /// other's speed.
    /// </summary>
    public int CpuSlots { get; set; } = 1;

    /// <summary>Tags runs can require (e.g. "a100", "spot").</summary>
    public List<string> Tags { get; set; } = [];

    /// <summary>Ask the trainer which CUDA devices TorchSharp sees (<c>moe-trainer devices</c>); off: CPU only.</summary>
    public bool ProbeDevices { get; set; } = true;

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a stopping trainer gets to write its checkpoint before it is killed.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Metric points are sent to the run at least this often (and whenever 2000 are pending).</summary>
    public TimeSpan MetricFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The configured id, else one that survives restarts: the machine name and a hash of the work directory. A worker that
    /// restarts is then the same worker in a new incarnation, which the scheduler recognises at its first heartbeat (its
    /// runs are released at once instead of after the heartbeat timeout), and finds its run folders where it left them.
    /// </summary>
    public string ResolvedWorkerId()
    {
        if (!string.IsNullOrWhiteSpace(WorkerId)) return WorkerId;
        var folder = System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(WorkDirectory));
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(folder))[..8];
        return PlatformIds.Require($"{Environment.MachineName.ToLowerInvariant()}-{hash}", "worker_id");
    }
}
