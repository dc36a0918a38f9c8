namespace Moe.Platform.Worker.Jobs;

/// <summary>
/// One <c>moe-trainer train</c> invocation: <c>train --config &lt;spec&gt; --out &lt;runDir&gt; --json [--device d] [extra...]</c>.
/// Running the same command again resumes the run from the newest checkpoint in <see cref="RunDirectory"/> (the
/// trainer does that), so restarting a job after a crash or a preemption needs nothing but this command.
/// </summary>
/// <param name="Trainer">Where the trainer is.</param>
/// <param name="SpecPath">The run config JSON the worker wrote (see <see cref="RunSpecFile"/>); its relative paths
/// are relative to the file.</param>
/// <param name="RunDirectory">The run folder: config.json, metrics.jsonl, checkpoints/.</param>
/// <param name="Device">cpu, cuda or cuda:N; null keeps the config's <c>training.device</c>.</param>
/// <param name="ExtraArguments">Appended as given: overrides (<c>training.steps=200</c>) or options (<c>--stop-after 5</c>).</param>
public sealed record TrainerCommand(
    TrainerExecutable Trainer,
    string SpecPath,
    string RunDirectory,
    string? Device = null,
    IReadOnlyList<string>? ExtraArguments = null)
{
    /// <summary>The child's working folder; by default the spec file's folder.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Extra environment variables for the child (e.g. CUDA_VISIBLE_DEVICES).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The trainer's arguments, after the trainer itself.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string> { "train", "--config", Path.GetFullPath(SpecPath), "--out", Path.GetFullPath(RunDirectory), "--json" };
        if (!string.IsNullOrEmpty(Device)) args.AddRange(["--device", Device]);
        if (ExtraArguments is not null) args.AddRange(ExtraArguments);
        return args;
    }

    public string ResolvedWorkingDirectory() =>
        WorkingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(SpecPath)) ?? System.Environment.CurrentDirectory;

    public override string ToString() => $"{Trainer} {string.Join(' ', Arguments())}";
}
