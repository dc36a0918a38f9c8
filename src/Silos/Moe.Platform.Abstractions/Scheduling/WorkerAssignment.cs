using System.Collections.Immutable;
using Orleans;

namespace Moe.Platform.Scheduling;

/// <summary>A run the scheduler placed on a worker, with the GPUs (by index) and CPU slots it holds there.</summary>
[GenerateSerializer, Immutable]
public sealed record AssignedRun(string RunId, ImmutableArray<int> GpuIndexes, int CpuSlots);

/// <summary>
/// The answer to a worker's heartbeat: the runs it should be running now. A run it runs that is not listed (cancelled,
/// preempted, or given to another worker after this one was thought gone) must be stopped.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WorkerAssignment(ImmutableArray<AssignedRun> Runs);
