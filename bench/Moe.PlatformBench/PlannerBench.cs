using System.Diagnostics;
using Moe.Platform.Scheduling;

namespace Moe.PlatformBench;

/// <summary>
/// The pure planner (<see cref="Scheduler.Plan"/>: no Orleans, no database) on the scheduling benchmark's workload and
/// 50 idle 8-GPU workers, at several queue lengths: the lower bound of one ScheduleAsync pass, and how it scales.
/// </summary>
public static class PlannerBench
{
    public static void Run(BenchContext context, IReadOnlyList<WorkerCapacity> workers)
    {
        int[] sizes = [.. new[] { 250, 1000, 2000 }.Select(n => context.Scaled(n, 20))];
        var results = new Dictionary<int, (Repeated Ms, int Placed)>();
        foreach (int n in sizes)
        {
            var t0 = DateTimeOffset.UtcNow;
            var queue = SchedulingBench.Jobs(n, seed: 1, prefix: "plan").Select((job, i) => new QueuedJob(
                job.RunId, job.Spec.ExperimentId, job.Spec.Priority, t0.AddMilliseconds(i), job.Spec.Resources, [])).ToList();
            int placed = 0;
            for (int warm = 0; warm < 3; warm++) placed = Scheduler.Plan(queue, workers, []).Placements.Count();
            var medians = new List<double>();
            for (int rep = 0; rep < context.Repetitions; rep++)
            {
                var times = new List<double>();
                for (int i = 0; i < 5; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    GC.KeepAlive(Scheduler.Plan(queue, workers, []));
                    times.Add(Stats.Ms(start));
                }
                medians.Add(Stats.Median(times));
            }
            results[n] = (new Repeated(medians), placed);
            Report.Progress($"planner: {n} queued: {results[n].Ms.Median:N1} ms ({placed} placed)");
        }
        var table = new ResultTable($"Scheduler.Plan alone (no Orleans, no database), {workers.Count} idle workers x 8 GPUs",
            "queued jobs", "ms per plan", "placed", "µs per queued job");
        foreach (int n in sizes)
            table.Row(n.ToString("N0"), results[n].Ms.Format(1), results[n].Placed.ToString(), Stats.F(1000 * results[n].Ms.Median / n, 0));
        table.Note($"Median of {context.Repetitions} repetitions of the median of 5 plans (±: half the range), after 3 warm-up plans; the scheduling benchmark's job mix.");
        context.Report.Add(table);
    }
}
