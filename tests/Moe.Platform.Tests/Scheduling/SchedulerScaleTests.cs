using Moe.Platform.Scheduling;
using static Moe.Platform.Tests.Scheduling.Cluster;

namespace Moe.Platform.Tests.Scheduling;

/// <summary>Determinism, and a plan the size of a real cluster's backlog.</summary>
public class SchedulerScaleTests
{
    // A mixed cluster with running work, built from a fixed seed.
    private static (List<QueuedJob> Queue, List<WorkerCapacity> Workers, List<RunningJob> Running) Mixed(int seed)
    {
        var random = new Random(seed);
        var workers = Enumerable.Range(0, 12)
            .Select(i => Capacity($"w{i:D2}", gpus: random.Next(0, 5), gpuGiB: random.Next(2) == 0 ? 40 : 80, cpu: 16))
            .ToList();
        var running = new List<RunningJob>();
        foreach (var worker in workers.Where(w => w.Gpus.Length > 0).Take(6))
            running.Add(Running($"run-{worker.WorkerId}", worker.WorkerId, priority: random.Next(0, 4), gpus: [0],
                cpu: 2, minute: random.Next(60), experiment: $"e{random.Next(3)}"));
        var queue = Enumerable.Range(0, 150)
            .Select(i => Job($"q{i:D3}", $"e{random.Next(4)}", priority: random.Next(0, 6), minute: random.Next(30),
                gpus: random.Next(0, 4), gpuGiB: random.Next(2) == 0 ? 30 : 60, cpu: random.Next(1, 5)))
            .ToList();
        return (queue, workers, running);
    }

    [Fact]
    public void Same_input_gives_the_same_plan_in_any_input_order()
    {
        var (queue, workers, running) = Mixed(seed: 7);
        var first = Scheduler.Plan(queue, workers, running);
        var again = Scheduler.Plan(Mixed(seed: 7).Queue, Mixed(seed: 7).Workers, Mixed(seed: 7).Running);
        var shuffled = Scheduler.Plan(
            Enumerable.Reverse(queue).ToList(), Enumerable.Reverse(workers).ToList(), Enumerable.Reverse(running).ToList());

        Assert.NotEmpty(first.Placements);
        Assert.Equal(first, again);
        Assert.Equal(first, shuffled);
        Assert.Equal(first.ToString(), shuffled.ToString());
    }

    [Fact]
    public void A_thousand_jobs_on_fifty_workers_fill_exactly_what_fits()
    {
        // 25 GPU workers (8 x 80 GiB, 32 CPU) and 25 CPU workers (16 CPU).
        var workers = Enumerable.Range(0, 25).Select(i => Capacity($"gpu{i:D2}", gpus: 8, cpu: 32))
            .Concat(Enumerable.Range(0, 25).Select(i => Capacity($"cpu{i:D2}", cpu: 16)))
            .ToList();
        // Every 10th job asks for 16 GPUs (never fits); odd ones 2 GPUs + 4 CPU at priority 1; the rest 4 CPU.
        var queue = Enumerable.Range(0, 1000).Select(i =>
                i % 10 == 0 ? Job($"j{i:D4}", $"e{i % 7}", priority: 2, minute: i, gpus: 16, cpu: 1)
                : i % 2 == 1 ? Job($"j{i:D4}", $"e{i % 7}", priority: 1, minute: i, gpus: 2, gpuGiB: 40, cpu: 4)
                : Job($"j{i:D4}", $"e{i % 7}", priority: 0, minute: i, cpu: 4))
            .ToList();

        var plan = Scheduler.Plan(queue, workers, []);

        // By hand: GPU jobs, 4 per GPU worker (8 GPUs / 2) = 100, leaving 16 CPU on each; CPU jobs, 4 per CPU worker
        // (16 / 4) = 100 plus 4 per GPU worker on the leftover 16 CPU = 100. Nothing to preempt: nothing runs.
        Assert.Equal(100, plan.Unschedulable.Count());
        Assert.Equal(100, plan.Placements.Count(p => p.GpuIndexes.Length == 2));
        Assert.Equal(200, plan.Placements.Count(p => p.GpuIndexes.Length == 0));
        Assert.Empty(plan.Preemptions);
        Assert.Equal(plan.Decisions.Length, plan.Decisions.Select(d => d.RunId).Distinct().Count());

        // And independently of the arithmetic: nothing is booked twice or past a worker's capacity.
        foreach (var onWorker in plan.Placements.GroupBy(p => p.WorkerId))
        {
            var worker = workers.Single(w => w.WorkerId == onWorker.Key);
            var gpus = onWorker.SelectMany(p => p.GpuIndexes).ToList();
            Assert.Equal(gpus.Count, gpus.Distinct().Count());
            Assert.All(gpus, g => Assert.InRange(g, 0, worker.Gpus.Length - 1));
            Assert.InRange(onWorker.Sum(p => p.CpuSlots), 0, worker.CpuSlots);
        }
    }
}
