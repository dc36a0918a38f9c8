using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;

namespace Moe.PlatformBench;

/// <summary>
/// Scheduling throughput and latency: N runs are submitted (each enqueues itself), then the scheduler drains them onto
/// simulated workers that never train. The benchmark drives the passes (the scheduler's timer is off); between passes
/// the workers heartbeat, start the runs their assignment lists (<see cref="IRunGrain.MarkRunningAsync"/>), stop the
/// ones it no longer lists (preempted: <see cref="IRunGrain.MarkStoppedAsync"/>, back to the queue), and a run
/// succeeds after it has "trained" for <see cref="TrainPasses"/> passes, which frees its resources.
/// </summary>
public static class SchedulingBench
{
    const int Workers = 50, GpusPerWorker = 8, CpuPerWorker = 64, Experiments = 20, TrainPasses = 2;
    const int MaxPasses = 10_000;

    public static readonly ImmutableArray<WorkerCapacity> Capacities =
        [.. Enumerable.Range(0, Workers).Select(w => BenchCluster.Worker($"worker-{w:D2}", GpusPerWorker, 80, CpuPerWorker))];

    public sealed record Job(string RunId, RunSpec Spec);

    /// <summary>
    /// A deterministic mix: 1/2/4/8 GPUs (weights 4:3:2:1) of 40 or 80 GiB, 4 CPU slots per GPU, priority 0/1/2
    /// (70/20/10%), spread over the experiments.
    /// </summary>
    public static List<Job> Jobs(int count, int seed, string prefix)
    {
        var random = new Random(seed);
        int[] gpuChoices = [1, 1, 1, 1, 2, 2, 2, 4, 4, 8];
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            int gpus = gpuChoices[random.Next(gpuChoices.Length)];
            double p = random.NextDouble();
            int priority = p < 0.7 ? 0 : p < 0.9 ? 1 : 2;
            return new Job($"{prefix}-{i:D4}", BenchCluster.Spec(random.Next(Experiments), priority, gpus, random.Next(2) == 0 ? 40 : 80, 4 * gpus));
        })];
    }

    public sealed record Drain(
        double SubmitPerSecond, double SubmitP50Ms, double SubmitP99Ms, double PlanMs, double FirstPassMs, int FirstPassPlacements,
        double MedianPassMs, double Seconds, int Placements, int Preemptions, int Passes,
        double QueueP50S, double QueueP99S, double SubmitToScheduledP50S, double SubmitToScheduledP99S)
    {
        public double JobsPerSecond(int jobs) => jobs / Seconds;
    }

    /// <summary>Runs the actions with at most <paramref name="concurrency"/> in flight (1: one after the other).</summary>
    static Task ForEachAsync<T>(IEnumerable<T> items, int concurrency, Func<T, Task> action) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (item, _) => await action(item));

    /// <summary>Submits the jobs, then drains them; <paramref name="whileQueued"/> runs once all are queued (not timed).</summary>
    public static async Task<Drain> DrainAsync(BenchCluster cluster, List<Job> jobs, int concurrency, Func<Task>? whileQueued)
    {
        var client = cluster.Client;
        var scheduler = cluster.Scheduler;

        // Submission: what the API does for each new run, 8 requests at a time.
        var submitMs = new double[jobs.Count];
        long submitStart = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs.Count), new ParallelOptions { MaxDegreeOfParallelism = concurrency },
            async (i, _) => submitMs[i] = await Stats.TimeMsAsync(() => client.GetRun(jobs[i].RunId).CreateAsync(jobs[i].Spec)));
        double submitSeconds = Stopwatch.GetElapsedTime(submitStart).TotalSeconds;

        var before = await scheduler.GetAsync();
        if (before.Queue.Length != jobs.Count || !before.Running.IsEmpty)
            throw new InvalidOperationException($"expected {jobs.Count} queued and none running, found {before.Queue.Length} and {before.Running.Length}");
        double planMs = PlanOnly(before);
        if (whileQueued is not null) await whileQueued();

        var t0 = DateTimeOffset.UtcNow;
        long drainStart = Stopwatch.GetTimestamp();
        var startedAtPass = new Dictionary<string, int>(StringComparer.Ordinal);
        var onWorker = Capacities.ToDictionary(w => w.WorkerId, _ => new HashSet<string>(StringComparer.Ordinal));
        var passMs = new List<double>();
        int succeeded = 0, placements = 0, preemptions = 0, firstPlacements = 0;
        for (int pass = 1; succeeded < jobs.Count; pass++)
        {
            if (pass > MaxPasses) throw new InvalidOperationException($"not drained after {MaxPasses} passes");
            // Runs that trained long enough succeed (the worker reports the process exit), freeing their resources.
            var done = startedAtPass.Where(r => pass - r.Value >= TrainPasses).Select(r => r.Key).ToList();
            await ForEachAsync(done, concurrency, id => client.GetRun(id).MarkSucceededAsync());
            foreach (string id in done)
            {
                startedAtPass.Remove(id);
                foreach (var set in onWorker.Values) set.Remove(id);
            }
            succeeded += done.Count;
            if (succeeded == jobs.Count) break;

            long passStart = Stopwatch.GetTimestamp();
            var plan = await cluster.Scheduler.ScheduleAsync();
            passMs.Add(Stats.Ms(passStart));
            int placed = plan.Placements.Count();
            if (pass == 1) firstPlacements = placed;
            placements += placed;
            preemptions += plan.Preemptions.Count();
            if (plan.Unschedulable.FirstOrDefault() is { } never) throw new InvalidOperationException($"the workload should fit: {never}");

            // Every worker heartbeats and acts on its assignment: starts what is new, stops what is no longer listed.
            await ForEachAsync(Capacities, concurrency, async worker =>
            {
                var mine = onWorker[worker.WorkerId];
                var assignment = await scheduler.HeartbeatAsync(worker, [.. mine]);
                var assigned = assignment.Runs.Select(r => r.RunId).ToHashSet(StringComparer.Ordinal);
                foreach (string stopped in mine.Where(id => !assigned.Contains(id)).ToList())
                {
                    await client.GetRun(stopped).MarkStoppedAsync(); // preempted: back to the queue
                    mine.Remove(stopped);
                    lock (startedAtPass) startedAtPass.Remove(stopped);
                }
                foreach (string started in assigned.Where(id => !mine.Contains(id)).ToList())
                {
                    await client.GetRun(started).MarkRunningAsync();
                    mine.Add(started);
                    lock (startedAtPass) startedAtPass[started] = pass;
                }
            });
            if (placed == 0 && startedAtPass.Count == 0) throw new InvalidOperationException($"stuck at pass {pass}: nothing placed, nothing running");
        }
        double drainSeconds = Stopwatch.GetElapsedTime(drainStart).TotalSeconds;

        var after = await scheduler.GetAsync();
        if (!after.Queue.IsEmpty || !after.Running.IsEmpty)
            throw new InvalidOperationException($"after the drain {after.Queue.Length} are queued and {after.Running.Length} hold resources");
        var snapshots = await Task.WhenAll(jobs.Select(j => client.GetRun(j.RunId).GetAsync()));
        var queueWait = new List<double>();
        var submitToScheduled = new List<double>();
        foreach (var run in snapshots)
        {
            if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException($"{run.RunId} ended {run.Status}");
            var scheduled = run.History.First(t => t.To == RunStatus.Scheduled).At;
            queueWait.Add((scheduled - t0).TotalSeconds);
            submitToScheduled.Add((scheduled - run.SubmittedAt).TotalSeconds);
        }
        return new Drain(jobs.Count / submitSeconds, Stats.Percentile(submitMs, 50), Stats.Percentile(submitMs, 99), planMs,
            passMs[0], firstPlacements, Stats.Median(passMs), drainSeconds, placements, preemptions, passMs.Count,
            Stats.Percentile(queueWait, 50), Stats.Percentile(queueWait, 99),
            Stats.Percentile(submitToScheduled, 50), Stats.Percentile(submitToScheduled, 99));
    }

    /// <summary>The pure planner on the scheduler's own input (no Orleans, no database): median of 15 after 3 warm-up.</summary>
    static double PlanOnly(SchedulerSnapshot snapshot)
    {
        var times = new List<double>();
        for (int i = 0; i < 18; i++)
        {
            long start = Stopwatch.GetTimestamp();
            var plan = Scheduler.Plan(snapshot.Queue, snapshot.Workers, snapshot.Running);
            if (i >= 3) times.Add(Stats.Ms(start));
            GC.KeepAlive(plan);
        }
        return Stats.Median(times);
    }

    /// <summary>How many client calls are in flight at once, and how many jobs each drain has.</summary>
    public readonly record struct Mode(int Concurrency, int Jobs)
    {
        public static Mode Parse(string text) =>
            text.Split('x') is [var c, var j] && int.TryParse(c, out int concurrency) && int.TryParse(j, out int jobs) && concurrency > 0 && jobs > 0
                ? new Mode(concurrency, jobs) : throw new ArgumentException($"a mode is <concurrency>x<jobs>, e.g. 1x1000 (got '{text}')");

        public string Describe => Concurrency == 1 ? "one client call at a time" : $"{Concurrency} client calls at once";
    }

    public static async Task RunAsync(BenchContext context, IReadOnlyList<Mode> modes, int repetitions)
    {
        modes = [.. modes.Select(m => m with { Jobs = context.Scaled(m.Jobs, 20) })];
        PlannerBench.Run(context, Capacities);
        var results = new Dictionary<(Mode, Backend), List<Drain>>();
        var stateKiB = new Dictionary<(Mode, Backend), double>();
        foreach (var backend in context.Backends)
        {
            Report.Progress($"scheduling: {BenchContext.Label(backend)}: starting a silo");
            var database = await context.NewDatabaseAsync(backend, "scheduling");
            await using var cluster = await BenchCluster.StartAsync(database, context.NewArtifactsDirectory(), Experiments);
            foreach (var worker in Capacities) await cluster.Scheduler.HeartbeatAsync(worker, []);
            foreach (var mode in modes)
            {
                int warmJobs = Math.Max(20, mode.Jobs / 10);
                Report.Progress($"scheduling: {database.Label}, {mode.Describe}: warm-up drain of {warmJobs} jobs");
                await DrainAsync(cluster, Jobs(warmJobs, seed: 99, prefix: $"warm{mode.Concurrency}"), mode.Concurrency, null);
                var drains = results[(mode, backend)] = [];
                for (int rep = 1; rep <= repetitions; rep++)
                {
                    var drain = await DrainAsync(cluster, Jobs(mode.Jobs, seed: rep, prefix: $"c{mode.Concurrency}r{rep}"), mode.Concurrency,
                        rep == 1 ? async () => stateKiB[(mode, backend)] = await SchedulerStateKiBAsync(database) : null);
                    drains.Add(drain);
                    Report.Progress($"scheduling: {database.Label}, {mode.Describe}: repetition {rep}/{repetitions}: submit {drain.SubmitPerSecond:N0} runs/s, " +
                        $"first pass {drain.FirstPassMs:N0} ms ({drain.FirstPassPlacements} placed), drain {drain.Seconds:N1} s " +
                        $"({drain.JobsPerSecond(mode.Jobs):N1} jobs/s, {drain.Passes} passes, {drain.Preemptions} preemptions)");
                }
            }
        }
        foreach (var mode in modes) context.Report.Add(Table(context, mode, results, stateKiB, repetitions));
    }

    static ResultTable Table(BenchContext context, Mode mode, Dictionary<(Mode, Backend), List<Drain>> results,
        Dictionary<(Mode, Backend), double> stateKiB, int repetitions)
    {
        int n = mode.Jobs;
        var rows = new (string Name, Func<Drain, double> Value, int Decimals)[]
        {
            ("submit: runs/s (IRunGrain.CreateAsync)", d => d.SubmitPerSecond, 0),
            ("submit: CreateAsync p50 (ms)", d => d.SubmitP50Ms, 1),
            ("submit: CreateAsync p99 (ms)", d => d.SubmitP99Ms, 1),
            ($"Scheduler.Plan alone, {n} queued, 50 idle workers (ms)", d => d.PlanMs, 1),
            ($"ScheduleAsync pass, {n} queued, 50 idle workers (ms)", d => d.FirstPassMs, 0),
            ("  runs placed by that pass", d => d.FirstPassPlacements, 0),
            ("median ScheduleAsync pass during the drain (ms)", d => d.MedianPassMs, 0),
            ($"drain: time until all {n} succeeded (s)", d => d.Seconds, 1),
            ("drain: jobs/s", d => d.JobsPerSecond(n), 1),
            ("drain: passes", d => d.Passes, 0),
            ("drain: preemptions", d => d.Preemptions, 0),
            ("latency queued -> Scheduled, p50 (s from drain start)", d => d.QueueP50S, 2),
            ("latency queued -> Scheduled, p99 (s from drain start)", d => d.QueueP99S, 2),
            ("latency submit -> Scheduled, p50 (s)", d => d.SubmitToScheduledP50S, 2),
            ("latency submit -> Scheduled, p99 (s)", d => d.SubmitToScheduledP99S, 2),
        };
        var backends = context.Backends.Where(b => results.ContainsKey((mode, b))).ToList();
        var table = new ResultTable($"Scheduling {n} queued jobs on {Workers} simulated workers x {GpusPerWorker} GPUs, {mode.Describe}",
            ["measure", .. backends.Select(BenchContext.Label), .. backends.Count == 2 ? ["PostgreSQL / SQLite"] : Array.Empty<string>()]);
        foreach (var (name, value, decimals) in rows)
        {
            var cells = backends.Select(b => new Repeated(results[(mode, b)].Select(value))).ToList();
            table.Row([name, .. cells.Select(c => c.Format(decimals)), .. cells.Count == 2 ? [BenchContext.Ratio(cells[1].Median, cells[0].Median)] : Array.Empty<string>()]);
        }
        table.Note($"Median of {repetitions} drains (±: half the range) after a warm-up drain of {Math.Max(20, n / 10)}. Jobs: 1/2/4/8 GPUs (4:3:2:1), " +
                   $"priorities 0/1/2 (70/20/10%), {Experiments} experiments; a placed run trains for {TrainPasses} passes, then succeeds. " +
                   $"Client calls (submissions; the workers' heartbeats, starts, stops and completions) at most {mode.Concurrency} at a time.");
        table.Note("Pure planner's share of the first pass: " + string.Join(", ", backends.Select(b =>
            $"{BenchContext.Label(b)} {Stats.F(100 * Stats.Median(results[(mode, b)].Select(d => d.PlanMs)) / Stats.Median(results[(mode, b)].Select(d => d.FirstPassMs)))}%")) +
            $"; the scheduler's persisted state with {n} queued: " + string.Join(", ", backends.Where(b => stateKiB.ContainsKey((mode, b)))
                .Select(b => $"{BenchContext.Label(b)} {stateKiB[(mode, b)]:N0} KiB of JSON")) + ", rewritten whole on every (coalesced) write.");
        return table;
    }

    /// <summary>Size of the scheduler grain's state row (JSON), read from grain_states.</summary>
    static async Task<double> SchedulerStateKiBAsync(BenchDatabase database)
    {
        await using var db = database.NewContext();
        var lengths = await db.GrainStates.AsNoTracking().Where(g => g.GrainType.StartsWith("scheduler/")).Select(g => g.StateJson.Length).ToListAsync();
        return lengths.Sum() / 1024.0;
    }
}
