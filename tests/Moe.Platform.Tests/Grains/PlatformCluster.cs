using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Experiments;
using Moe.Platform.Grains;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Orleans.TestingHost;

namespace Moe.Platform.Tests.Grains;

/// <summary>
/// One in-process silo with in-memory "platform" storage, shared by the tests of one class (xunit class fixture).
/// The scheduler is a cluster singleton, so tests that schedule start from <see cref="ResetSchedulerAsync"/> and use
/// ids of their own (<see cref="NewId"/>). The scheduler's own timer is off, so each test decides when it plans.
/// Runs belong to the experiments <see cref="Experiments"/> created at start.
/// </summary>
public sealed class PlatformCluster : IAsyncLifetime
{
    public const long GiB = 1L << 30;

    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster has not started");
    public IClusterClient Client => Cluster.Client;
    public ISchedulerGrain Scheduler => Client.GetScheduler();

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(PlatformStorage.Name);
            silo.Services.AddPlatformGrainServices();
            silo.Services.Configure<SchedulerOptions>(o => o.PassInterval = TimeSpan.Zero);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        foreach (var experiment in Experiments)
            await Client.GetExperiment(experiment).CreateAsync(new ExperimentSpec($"{experiment} ({Guid.NewGuid():N})"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    public static readonly string[] Experiments = ["exp", "exp-a", "exp-b"];

    /// <summary>A config the Trainer's validation accepts (the files are never opened: these runs never train).</summary>
    public const string ValidConfig =
        """{"tokenizer":"/data/tokenizer.json","data":{"datasets":[{"name":"d","path":"/data/d"}]},"training":{"steps":100}}""";

    public IRunGrain Run(string runId) => Client.GetRun(runId);

    /// <summary>A fresh id, so tests sharing the cluster never meet each other's runs or workers.</summary>
    public static string NewId(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];

    public static RunSpec Spec(
        string experiment = "exp", int priority = 0, int gpus = 0, long gpuGiB = 0, int cpu = 1, int maxRetries = 2,
        params string[] tags) =>
        new(experiment, "run", priority, new ResourceRequest(gpus, gpuGiB * GiB, cpu), ValidConfig,
            maxRetries, [.. tags]);

    public static WorkerCapacity Capacity(string id, int gpus = 0, long gpuGiB = 80, int cpu = 4) =>
        new(id, [.. Enumerable.Range(0, gpus).Select(i => new GpuInfo(i, "H100", gpuGiB * GiB, gpuGiB * GiB))], cpu);

    /// <summary>Creates and thereby enqueues a run under a fresh id; returns the id.</summary>
    public async Task<string> SubmitAsync(string name, RunSpec spec)
    {
        var id = NewId(name);
        await Run(id).CreateAsync(spec);
        return id;
    }

    /// <summary>
    /// Empties the scheduler through its public API: every worker leaves (their runs go back to the queue or fail),
    /// then every queued run is cancelled (which takes it off the queue).
    /// </summary>
    public async Task ResetSchedulerAsync()
    {
        foreach (var worker in (await Scheduler.GetAsync()).Workers) await Scheduler.WorkerGoneAsync(worker.WorkerId);
        foreach (var job in (await Scheduler.GetAsync()).Queue) await Run(job.RunId).RequestCancelAsync("test reset");
        var left = await Scheduler.GetAsync();
        Assert.True(left.Queue.IsEmpty && left.Workers.IsEmpty && left.Running.IsEmpty, "the scheduler did not empty");
    }
}
