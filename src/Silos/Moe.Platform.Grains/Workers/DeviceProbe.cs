using System.Collections.Immutable;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Moe.Platform.Scheduling;
using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Grains.Workers;

/// <summary>
/// What a worker offers: the CUDA devices TorchSharp sees, asked of the trainer itself (<c>moe-trainer devices
/// --json</c>) so the silo never loads libtorch, plus the configured CPU slots and tags.
/// </summary>
public static class DeviceProbe
{
    public static async Task<WorkerCapacity> ProbeAsync(string workerId, WorkerOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var gpus = ImmutableArray<GpuInfo>.Empty;
        if (options.ProbeDevices)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromMinutes(2));
                var result = await TrainerCli.RunAsync(TrainerExecutable.FromPath(options.TrainerPath), ["devices", "--json"],
                    Directory.CreateDirectory(options.WorkDirectory).FullName, timeout.Token);
                if (result.ExitCode != 0) throw new InvalidOperationException(result.ToString());
                gpus = Parse(result.Stdout);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Probing devices with {Trainer} failed; worker {WorkerId} offers CPU only", options.TrainerPath, workerId);
            }
        }
        logger.LogInformation("Worker {WorkerId}: {Gpus} GPU(s) {Names}, {Slots} CPU slot(s), tags [{Tags}]", workerId, gpus.Length,
            string.Join(", ", gpus.Select(g => g.Name)), options.CpuSlots, string.Join(", ", options.Tags));
        return new WorkerCapacity(workerId, gpus, options.CpuSlots, [.. options.Tags]);
    }

    /// <summary>Reads the <c>gpus</c> of <c>moe-trainer devices --json</c>.</summary>
    public static ImmutableArray<GpuInfo> Parse(string stdout)
    {
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'))
                   ?? throw new FormatException($"no JSON in the output of moe-trainer devices: {stdout}");
        var report = JsonNode.Parse(line)!.AsObject();
        return [.. (report["gpus"]?.AsArray() ?? []).Select(g => new GpuInfo(
            (int)g!["index"]!, (string?)g["name"] ?? "CUDA device", (long)g["total_memory_bytes"]!, (long)g["free_memory_bytes"]!))];
    }
}
