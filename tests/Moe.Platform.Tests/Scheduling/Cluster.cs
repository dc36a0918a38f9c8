using System.Collections.Immutable;
using Moe.Platform.Scheduling;

namespace Moe.Platform.Tests.Scheduling;

/// <summary>Short builders for scheduler inputs; times are minutes after <see cref="T0"/>.</summary>
internal static class Cluster
{
    public const long GiB = 1L << 30;
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    public static WorkerCapacity Capacity(string id, int gpus = 0, long gpuGiB = 80, int cpu = 16, params string[] tags) =>
        new(id, [.. Enumerable.Range(0, gpus).Select(i => new GpuInfo(i, "H100", gpuGiB * GiB, gpuGiB * GiB))],
            cpu, [.. tags]);

    public static QueuedJob Job(
        string run, string experiment = "exp", int priority = 0, int minute = 0, int gpus = 0, long gpuGiB = 0,
        int cpu = 1, params string[] tags) =>
        new(run, experiment, priority, T0.AddMinutes(minute), new ResourceRequest(gpus, gpuGiB * GiB, cpu), [.. tags]);

    public static RunningJob Running(
        string run, string worker, int priority = 0, int[]? gpus = null, int cpu = 1, int minute = 0,
        string experiment = "exp", bool stopping = false) =>
        new(run, experiment, priority, worker, [.. gpus ?? []], cpu, T0.AddMinutes(minute), stopping);

    public static Place Place(string run, string worker, int[] gpus, int cpu) => new(run, worker, [.. gpus], cpu);

    public static SchedulingPlan Plan(
        IReadOnlyCollection<QueuedJob> queue, IReadOnlyCollection<WorkerCapacity> workers,
        IReadOnlyCollection<RunningJob>? running = null) =>
        Scheduler.Plan(queue, workers, running ?? []);

    public static ImmutableArray<SchedulingDecision> Decisions(params SchedulingDecision[] decisions) => [.. decisions];
}
