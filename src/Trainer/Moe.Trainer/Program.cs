using Moe.Model.Backend;
using Moe.Model.Config;
using Moe.Model.Data;
using Moe.Model.Training;
using Moe.Supervision;
using Moe.Trainer;

// moe-trainer: the Trainer's command line. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration, 3 torch backend
// unavailable, 4 its folder is leased by another process, 5 its supervisor died (started by the platform), 130 interrupted.
// Started by the platform, it dies with its supervisor and holds the lease the supervisor asked for (Moe.Supervision).
using var supervisor = SupervisorLink.WatchSupervisor(SupervisorGone);
try
{
    using var lease = SupervisorLink.AcquireRequestedLease($"moe-trainer {string.Join(' ', args.Take(2))}");
    return args switch
    {
        ["train", .. var rest] => TrainCommand.Run(CommandArgs.Parse(rest)),
        ["eval", .. var rest] => EvalCommand.Run(CommandArgs.Parse(rest)),
        ["sample", .. var rest] => SampleCommand.Run(CommandArgs.Parse(rest)),
        ["analyze", .. var rest] => AnalyzeCommand.Run(rest),
        ["tokenizer", .. var rest] => TokenizerCommand.Run(rest),
        ["data", .. var rest] => DataCommand.Run(rest),
        ["info", .. var rest] => InfoCommand.Run(CommandArgs.Parse(rest)),
        ["devices", .. var rest] => DevicesCommand.Run(CommandArgs.Parse(rest)),
        [] or ["help" or "--help" or "-h"] => Usage(0),
        _ => Usage(2, $"unknown command '{args[0]}'"),
    };
}
catch (LeaseHeldException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 4;
}
catch (ConfigException e)
{
    Console.Error.WriteLine($"error: invalid configuration: {e.Message}");
    return 2;
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (Exception e) when (e is CheckpointException or DataException or TrainingDivergedException or InvalidDataException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
catch (TorchBackendException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 3;
}

// Nobody would record what this process does from now on (its metrics, its checkpoints), and a restarted supervisor will
// start the work again: stop at once, without a checkpoint. A torn metrics line or checkpoint folder is cleaned on resume.
static void SupervisorGone(string reason)
{
    Console.Error.WriteLine($"error: exiting at once, without a checkpoint: {reason}");
    SupervisorLink.ExitNow(SupervisorLink.SupervisorGoneExitCode);
}

static int Usage(int code, string? problem = null)
{
    if (problem is not null) Console.Error.WriteLine($"error: {problem}");
    (code == 0 ? Console.Out : Console.Error).WriteLine("""
        usage: moe-trainer <command> [options] [field.path=value ...]

        commands:
          train  --config <run.json> [--out <run dir>] [--device cpu|cuda|cuda:N] [--json] [--stop-after N]
                 Train a run (model, tokenizer, data mixture, optimisation in one file), or resume it: a run
                 folder with checkpoints continues from the newest one. Metrics go to <run dir>/metrics.jsonl
                 (--json also streams them to stdout). Ctrl-C or SIGTERM: checkpoint, then exit 130.
          eval   --checkpoint <checkpoint or run dir> [--data <prepared dataset>] [--windows N] [--batch B]
                 [--arithmetic N [--arithmetic-seed S] [--arithmetic-max-operand M]] [--device D] [--json]
                 Validation loss, perplexity and per-layer expert balance of a checkpoint on a dataset's validation
                 split (default: the run's own), and/or exact match on the first N synthetic arithmetic problems
                 (greedy). With --arithmetic and no --data, only arithmetic runs. Fields: docs/evaluation.md.
          sample --checkpoint <checkpoint or run dir> [--prompt TEXT] [--max-tokens N] [--temperature T | --greedy]
                 [--top-k K] [--seed S] [--samples N]
                 Continue a prompt with the model of a checkpoint.
          analyze routing --checkpoint <checkpoint or run dir> --input <file.jsonl,...> [--group-field category]
                 [--max-docs 200] [--max-tokens-per-doc 512] [--top-tokens 10] [--position-buckets 8]
                 [--min-occurrences 5] [--capacity train|eval] [--batch B] [--device D] [--out result.json] [--json]
                 Which experts each MoE layer picks: load, drops, entropy, shares per document group, each
                 expert's most frequent token ids, token-id consistency and drops by position. Fields:
                 docs/routing-analysis.md.
          tokenizer train --input <files,...> --vocab N --out <tokenizer.json or dir>
                 Learn a byte-level BPE (Hugging Face tokenizer.json) from text or JSON-lines documents.
          tokenizer encode --tokenizer <tokenizer.json> --text TEXT
          data prepare --input <files,...> --tokenizer <tokenizer.json> --out <dir> [--validation F] [--seed S] [--overwrite]
                 Tokenise documents once into binary shards + manifest.json with a held-out validation split.
          data corpora [--root .data/corpora]
                 Convert the corpora scripts/fetch-corpora.sh fetched (Brown with genres, nlp-corpus) to JSON lines.
          data arithmetic --out <file.jsonl> [--count N] [--seed S] [--max-operand M]
                 Synthetic arithmetic problems with worked <think>/<answer> completions.
          info   --config <file.json> [--device cpu|cuda|cuda:N] [--libtorch <dir>] [--batch B] [--seq T] [--steps N]
                 Build the model, print total and active-per-token parameters, FLOPs per token,
                 and time forward+backward steps on random tokens.

          devices [--json] [--libtorch <dir>]
                 The CUDA devices TorchSharp can use (names and memory from nvidia-smi) and the CPU cores.

        Trailing field.path=value arguments override the configuration, e.g. moe.top_k=4.
        """);
    return code;
}
