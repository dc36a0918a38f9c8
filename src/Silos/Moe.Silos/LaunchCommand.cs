using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moe.Platform;
using Moe.Platform.Experiments;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;

namespace Moe.Silos;

/// <summary>
/// <c>moe-silo launch --config run.json</c>: the embedded default end to end with no other service. It starts the silo
/// (both roles), submits the run to an experiment through the grains, shows its progress until it ends, and stops.
/// </summary>
public static class LaunchCommand
{
    public static async Task<int> RunAsync(IHost host, LaunchRequest request, TextWriter output, CancellationToken cancellationToken)
    {
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var config = request.ConfigJson;

        var experimentId = PlatformIds.Require(request.Experiment, "--experiment");
        var experiment = grains.GetExperiment(experimentId);
        try
        {
            await experiment.GetAsync();
        }
        catch (PlatformException)
        {
            await experiment.CreateAsync(new ExperimentSpec(experimentId, "runs launched with moe-silo launch"));
        }

        var runId = PlatformIds.New("run");
        var spec = new RunSpec(experimentId, request.Name ?? Path.GetFileNameWithoutExtension(request.ConfigPath), request.Priority,
            new ResourceRequest(request.Gpus, 0, request.Gpus > 0 ? 0 : 1), config, request.MaxRetries);
        var run = grains.GetRun(runId);
        await run.CreateAsync(spec);
        var progress = RunProgress.Of(spec);
        output.WriteLine($"launched {runId} in experiment '{experimentId}'; Ctrl-C cancels it");

        using var cancel = cancellationToken.Register(() => _ = run.RequestCancelAsync("cancelled from moe-silo launch"));
        // A terminal gets one line redrawn in place; a log gets a line per status change and per 5% of the steps.
        bool redraw = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        (RunStatus Status, long Bucket, double? Best)? last = null;
        RunSnapshot snapshot;
        while (true)
        {
            snapshot = await run.GetAsync();
            var key = (snapshot.Status, progress.Bucket(snapshot), snapshot.BestValLoss);
            if (redraw) output.Write($"\r{progress.Line(snapshot),-110}");
            else if (key != last) output.WriteLine(progress.Line(snapshot));
            last = key;
            if (snapshot.Status.IsTerminal()) break;
            await Task.Delay(1000, CancellationToken.None);
        }
        if (redraw) output.WriteLine();
        foreach (var transition in snapshot.History)
            output.WriteLine($"  {transition.At:HH:mm:ss} {transition.From} -> {transition.To}: {transition.Reason}");
        var checkpoints = await grains.GetCheckpoints(runId).ListAsync();
        if (checkpoints.Count > 0)
            output.WriteLine($"checkpoints in the artifact store: {string.Join(", ", checkpoints.Select(c => c.ArtifactPrefix))}");
        return snapshot.Status == RunStatus.Succeeded ? 0 : 1;
    }
}

/// <param name="ConfigJson">The run config, self-contained (<see cref="RunConfigFile.Read"/>), read before the silo starts.</param>
public sealed record LaunchRequest(string ConfigPath, string ConfigJson, string Experiment, string? Name, int Priority, int Gpus, int MaxRetries);
