using Moe.Model.IO;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Moe.Model.Backend;
using Moe.Model.Checkpoints;
using Moe.Model.Config;
using Moe.Model.Data;
using Moe.Model.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Moe.Model.Training;

/// <summary>
/// A training run in its folder: <c>config.json</c>, <c>metrics.jsonl</c> and <c>checkpoints/</c>. Opening it resumes from
/// the newest checkpoint when there is one, so the same command continues an interrupted run exactly.
/// Initialisation and router noise draw from torch's process-wide generator, which the run re-seeds every step: one run
/// trains per process at a time (as the CLI and the platform's workers run it) for results to be reproducible.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    public const string ConfigFile = "config.json";

    readonly RunConfig config;
    readonly TrainerOptions options;
    readonly Device device;
    readonly RunData data;
    readonly AdamW optimizer;
    readonly MixtureSampler sampler;
    readonly CheckpointStore store;
    readonly MetricsWriter metrics;
    readonly LearningRateSchedule schedule;
    readonly Stopwatch clock = new();
    readonly double elapsedBefore;
    long tokensSeen;
    double? lastValLoss, bestValLoss;
    long? lastValStep, bestStep, lastCheckpointStep;
    string? lastCheckpoint;

    public MoeTransformer Model { get; }
    public long Step { get; private set; }
    public Checkpoint? ResumedFrom { get; }
    public ScalarType ComputeDtype { get; }
    public string Directory { get; }

    TrainingRun(RunConfig config, string runDirectory, Device device, TrainerOptions options)
    {
        this.config = config;
        this.options = options;
        this.device = device;
        Directory = Path.GetFullPath(runDirectory);
        System.IO.Directory.CreateDirectory(Directory);
        store = new CheckpointStore(Directory);
        store.CleanTemporary();
        data = RunData.Load(config);
        schedule = LearningRateSchedule.From(config.Training);
        ComputeDtype = ResolveDtype(config.Training.Dtype, device);

        var latest = store.LoadLatest();
        if (latest is not null) EnsureSameRun(latest);
        AtomicFile.WriteAllText(Path.Combine(Directory, ConfigFile), RunConfigLoader.Serialize(config));

        manual_seed(config.Training.Seed);
        Model = new MoeTransformer(config.Model);
        Model.to(device);
        if (ComputeDtype != ScalarType.Float32) Model.ToComputeDtype(ComputeDtype);
        Model.train();
        var t = config.Training;
        optimizer = new AdamW(Model.named_parameters().Select(p => (p.name, p.parameter)), t.Beta1, t.Beta2, t.Eps, t.WeightDecay);

        MixturePosition? position = null;
        var metricsPath = Path.Combine(Directory, MetricsWriter.FileName);
        if (latest is not null)
        {
            ModelWeights.Load(Model, latest.ModelPath);
            var state = SafeTensors.Load(latest.OptimizerPath, device);
            try { optimizer.LoadState(state, latest.State.Optimizer.Step, latest.OptimizerPath); }
            finally { foreach (var tensor in state.Values) tensor.Dispose(); }
            position = MixturePosition.FromJson(latest.State.Data.ToJsonString());
            Step = latest.State.Step;
            tokensSeen = latest.State.TokensSeen;
            (lastValLoss, lastValStep) = (latest.State.ValLoss, latest.State.Step);
            (bestValLoss, bestStep) = (latest.State.BestValLoss, latest.State.BestStep);
            (lastCheckpoint, lastCheckpointStep) = (latest.Directory, latest.State.Step);
            elapsedBefore = latest.State.ElapsedSeconds;
            MetricsWriter.TruncateAfter(metricsPath, Step);
            ResumedFrom = latest;
        }
        sampler = new MixtureSampler(data.Train, t.SeqLen, t.Seed, data.Phases, position);
        metrics = new MetricsWriter(metricsPath, options.MetricsEcho);
    }

    /// <summary>Opens (or resumes) the run in <paramref name="runDirectory"/>; the torch backend must be initialised.</summary>
    public static TrainingRun Open(RunConfig config, string runDirectory, Device device, TrainerOptions? options = null) =>
        new(config, runDirectory, device, options ?? new TrainerOptions());

    public static ScalarType ResolveDtype(ComputeDtype dtype, Device device) => dtype switch
    {
        Training.ComputeDtype.Float32 => ScalarType.Float32,
        Training.ComputeDtype.Bfloat16 => ScalarType.BFloat16,
        _ => device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
    };

    /// <summary>Trains until the configured steps are done, the step limit is reached or <paramref name="cancel"/> fires.</summary>
    public TrainResult Run(CancellationToken cancel = default)
    {
        var t = config.Training;
        var size = ModelSize.Of(config.Model);
        metrics.Write(new JsonObject
        {
            ["type"] = "start", ["step"] = Step, ["run"] = config.Name, ["kind"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(config.Kind.ToString()), ["device"] = device.ToString(), ["dtype"] = ComputeDtype.ToString(),
            ["total_steps"] = t.Steps, ["tokens_per_step"] = t.TokensPerStep, ["params_total"] = size.Total, ["params_active"] = size.ActivePerToken,
            ["resumed_from"] = ResumedFrom?.Directory, ["time"] = DateTimeOffset.UtcNow.ToString("O"),
        });
        clock.Start();
        var reason = StopReason.Completed;
        while (Step < t.Steps)
        {
            if (cancel.IsCancellationRequested) { reason = StopReason.Cancelled; break; }
            if (options.StopAfterStep is { } limit && Step >= limit) { reason = StopReason.StepLimit; break; }
            TrainStep();
            if (Step % t.EvalEvery == 0) Evaluate();
            if (Step % t.CheckpointEvery == 0 || Step == t.Steps) SaveCheckpoint();
        }
        if (reason != StopReason.Completed && Step > 0 && lastCheckpointStep != Step) SaveCheckpoint();
        clock.Stop();
        metrics.Write(new JsonObject
        {
            ["type"] = "end", ["step"] = Step, ["reason"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString()),
            ["best_val_loss"] = bestValLoss, ["best_step"] = bestStep, ["elapsed_s"] = Math.Round(Elapsed, 3),
        });
        return new TrainResult(Step, reason, lastValLoss, bestValLoss, bestStep, lastCheckpoint);
    }

    double Elapsed => elapsedBefore + clock.Elapsed.TotalSeconds;

    /// <summary>One optimiser step over grad_accum micro-batches.</summary>
    public StepReport TrainStep()
    {
        var t = config.Training;
        var watch = Stopwatch.StartNew();
        var step = Step + 1;
        var seed = RngState.StepSeed(t.Seed, step);
        manual_seed(seed);
        if (device.type == DeviceType.CUDA) cuda.manual_seed_all(seed);
        var lr = schedule.At(step);
        var progress = (double)(step - 1) / t.Steps;
        double loss = 0, lm = 0, aux = 0, mtp = 0;
        var hasMtp = false;
        var stats = new List<IReadOnlyList<RouterStats>>();
        for (var micro = 0; micro < t.GradAccum; micro++)
        {
            using var scope = NewDisposeScope();
            var windows = tensor(sampler.Next(t.BatchSize, progress), device: device);
            var output = Model.Forward(windows.narrow(1, 0, t.SeqLen), windows.narrow(1, 1, t.SeqLen));
            (output.Loss! / t.GradAccum).backward();
            var values = stack(new[] { output.Loss!, output.LmLoss!, output.AuxLoss!, output.MtpLoss ?? output.AuxLoss! }.Select(v => v.detach().to(ScalarType.Float32)).ToArray()).cpu().data<float>().ToArray();
            loss += values[0]; lm += values[1]; aux += values[2];
            if (output.MtpLoss is not null) { mtp += values[3]; hasMtp = true; }
            stats.Add(output.RouterStats);
        }
        var meanLoss = (float)(loss / t.GradAccum);
        if (!float.IsFinite(meanLoss)) throw new TrainingDivergedException(step, meanLoss);
        var gradNorm = optimizer.StepWith(lr, t.GradClip);
        optimizer.ZeroGrad();
        var router = RouterStatsSummary.Merge(stats);
        Model.UpdateAuxFreeBiases(router);
        Step = step;
        tokensSeen += t.TokensPerStep;
        var seconds = watch.Elapsed.TotalSeconds;
        var report = new StepReport(step, t.Steps, tokensSeen, meanLoss, (float)(lm / t.GradAccum), (float)(aux / t.GradAccum),
            hasMtp ? (float)(mtp / t.GradAccum) : null, lr, gradNorm, t.TokensPerStep / seconds, router);
        metrics.Write(new JsonObject
        {
            ["type"] = "step", ["step"] = step, ["tokens"] = tokensSeen,
            ["loss"] = MetricsWriter.Value(report.Loss), ["lm_loss"] = MetricsWriter.Value(report.LmLoss),
            ["aux_loss"] = MetricsWriter.Value(report.AuxLoss), ["mtp_loss"] = report.MtpLoss is { } m ? MetricsWriter.Value(m) : null,
            ["aux"] = RouterStatsSummary.AuxLosses(router),
            ["lr"] = lr, ["grad_norm"] = MetricsWriter.Value(gradNorm), ["tokens_per_s"] = Math.Round(report.TokensPerSecond, 1),
            ["step_s"] = Math.Round(seconds, 4), ["elapsed_s"] = Math.Round(Elapsed, 3), ["phase"] = sampler.PhaseAt(progress),
            ["router"] = RouterStatsSummary.ToJson(router),
        });
        options.OnStep?.Invoke(report);
        return report;
    }

    /// <summary>Mean next-token loss over the fixed validation windows, in eval mode (eval capacity factor, no noise).</summary>
    public EvalReport Evaluate()
    {
        var t = config.Training;
        var count = data.ValidationWindows.GetLength(0);
        var valLoss = ValidationLoss.Compute(Model, data.ValidationWindows, t.BatchSize, device);
        (lastValLoss, lastValStep) = (valLoss, Step);
        var report = new EvalReport(Step, valLoss, Math.Exp(valLoss), Math.Min(valLoss, bestValLoss ?? double.PositiveInfinity));
        metrics.Write(new JsonObject
        {
            ["type"] = "eval", ["step"] = Step, ["tokens"] = tokensSeen, ["val_loss"] = MetricsWriter.Value(valLoss),
            ["val_ppl"] = MetricsWriter.Value(report.Perplexity), ["windows"] = count,
            ["mix"] = new JsonObject(sampler.Position.Drawn.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        });
        options.OnEval?.Invoke(report);
        return report;
    }

    /// <summary>Writes a checkpoint of the current step (evaluating first if needed) and applies retention.</summary>
    public Checkpoint SaveCheckpoint()
    {
        var t = config.Training;
        if (lastValStep != Step) Evaluate();
        if (bestValLoss is null || lastValLoss < bestValLoss) (bestValLoss, bestStep) = (lastValLoss, Step);
        var state = new TrainingState
        {
            Step = Step, TokensSeen = tokensSeen, Config = config, TokenizerHash = data.TokenizerHash,
            Optimizer = new OptimizerState("adamw", optimizer.Step, t.Beta1, t.Beta2, t.Eps, t.WeightDecay),
            Rng = new RngState(t.Seed, RngState.PerStep), Data = JsonNode.Parse(sampler.Position.ToJson())!,
            ValLoss = lastValLoss, BestValLoss = bestValLoss, BestStep = bestStep, ElapsedSeconds = Elapsed, Created = DateTimeOffset.UtcNow,
        };
        var checkpoint = store.Save(state, config.Tokenizer, dir =>
        {
            ModelWeights.Save(Model, Path.Combine(dir, CheckpointStore.ModelFile), new Dictionary<string, string> { ["format"] = "pt", ["step"] = Step.ToString() });
            SafeTensors.Save(Path.Combine(dir, CheckpointStore.OptimizerFile), optimizer.StateTensors());
        });
        var deleted = store.ApplyRetention(t.KeepLast, bestStep);
        (lastCheckpoint, lastCheckpointStep) = (checkpoint.Directory, Step);
        metrics.Write(new JsonObject
        {
            ["type"] = "checkpoint", ["step"] = Step, ["path"] = checkpoint.Directory, ["val_loss"] = MetricsWriter.Value(lastValLoss ?? double.NaN),
            ["best_step"] = bestStep, ["deleted_steps"] = new JsonArray(deleted.Select(s => (JsonNode?)s).ToArray()),
        });
        options.Log?.Invoke($"checkpoint step {Step} -> {checkpoint.Directory}");
        return checkpoint;
    }

    /// <summary>
    /// A run folder continues only the run it holds: same model, optimisation and data names. Paths and the device may
    /// change, so a preempted run can resume on another worker.
    /// </summary>
    void EnsureSameRun(Checkpoint latest)
    {
        static string Identity(RunConfig c) => RunConfigLoader.Serialize(c with
        {
            Tokenizer = "",
            Data = c.Data with { Datasets = c.Data.Datasets.Select(d => d with { Path = "" }).ToList() },
            Training = c.Training with { Device = "" },
        });
        if (Identity(latest.State.Config) != Identity(config))
            throw new ConfigException("config", $"'{Directory}' holds a run with a different configuration (checkpoint {latest.Directory}); use a new output folder or the same config");
        if (latest.State.TokenizerHash != data.TokenizerHash)
            throw new ConfigException("tokenizer", $"differs from the tokenizer the run in '{Directory}' started with");
    }

    public void Dispose()
    {
        metrics.Dispose();
        optimizer.Dispose();
        Model.Dispose();
    }
}
