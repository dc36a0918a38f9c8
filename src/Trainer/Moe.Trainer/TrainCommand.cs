using System.Globalization;
using Moe.Model.Backend;
using Moe.Model.Model;
using Moe.Model.Training;
using Moe.Supervision;

namespace Moe.Trainer;

/// <summary><c>moe-trainer train</c>: train (or resume) a run from a run config plus overrides.</summary>
public static class TrainCommand
{
    public static int Run(CommandArgs args)
    {
        var configPath = args.Require("config");
        var outOption = args.Get("out");
        // --device is shorthand for the training.device override, validated with the rest of the config.
        if (args.Get("device") is { } deviceText) args.Overrides.Add($"training.device={deviceText}");
        var libtorch = args.Get("libtorch");
        var json = args.Flag("json");
        int? stopAfter = args.Get("stop-after") is null ? null : args.Int("stop-after", 0, min: 0);
        args.RejectUnknown();
        var config = RunConfigLoader.LoadFile(configPath, args.Overrides);
        var output = outOption ?? Path.Combine("runs", config.Name);
        // One process per run folder: a second trainer (an orphan of a dead worker, a second terminal) is refused.
        using var lease = ProcessLease.Acquire(output, $"moe-trainer train {config.Name}");

        var device = TorchBackend.Initialize(config.Training.Device, libtorch);
        var display = TrainingDisplay.For(json);
        var options = new TrainerOptions
        {
            StopAfterStep = stopAfter,
            MetricsEcho = json ? Console.Out : null,
            OnStep = display.OnStep,
            OnEval = display.OnEval,
            Log = display.Line,
        };
        using var interruption = new Interruption();
        using var run = TrainingRun.Open(config, output, device, options);
        var size = ModelSize.Of(config.Model);
        display.Line(string.Create(CultureInfo.InvariantCulture,
            $"run {config.Name} in {run.Directory}: {size.Total / 1e6:F2}M parameters ({size.ActivePerToken / 1e6:F2}M active/token), {run.ComputeDtype} on {TorchBackend.Describe()}"));
        if (run.ResumedFrom is { } resumed) display.Line($"resuming from {resumed.Directory} (step {resumed.State.Step})");
        var result = display.Show(run.Step, config.Training.Steps, () => run.Run(interruption.Token));
        display.Line(string.Create(CultureInfo.InvariantCulture,
            $"{Describe(result.Reason)} at step {result.Step}; validation loss {result.LastValLoss:F4}, best {result.BestValLoss:F4} at step {result.BestStep}; checkpoint {result.LastCheckpoint}"));
        return result.Reason == StopReason.Cancelled ? Interruption.ExitCode : 0;
    }

    static string Describe(StopReason reason) => reason switch
    {
        StopReason.Completed => "finished",
        StopReason.StepLimit => "stopped (--stop-after)",
        _ => "interrupted",
    };
}
