using Moe.Bench;
using Moe.Model.Backend;
using Moe.Model.Config;

const string Usage = """
    Moe.Bench: throughput and cross-implementation checks of the MoE transformer (docs/benchmarks.md).

    Commands:
      step --config <json>        forward + backward + AdamW steps on random tokens: tokens/s, ms/step, FLOPs/token, TFLOP/s, MFU
           [--batch 8] [--seq 128] [--steps 10] [--warmup 3] [--seed 0]
      moe-vs-dense --config <json>  fwd+bwd of one MoE layer vs one dense SwiGLU with the same active parameters
           (hidden = used experts x expert_hidden + shared experts' hidden), same input: ratio MoE/dense
           [--batch 8] [--seq 128] [--steps 10] [--warmup 3] [--seed 0]
      export --config <json> --out <dir>  deterministic fp32 weights, tokens, logits and losses for
           bench/reference/moe_reference.py check [--seed 1234] [--batch 2] [--seq 64]
      all [--configs-dir configs] [--names a,b,...]  step + moe-vs-dense for the tiny CPU presets, one table
           [--batch 8] [--seq 128] [--steps 10] [--warmup 3]
      train [--run-config configs/train/brown.json] [--steps 300] [--variants moe-switch,moe-none,moe-aux-free,dense]
           [--dense-model configs/dense-default.json] [--out runs/bench-train]
                                  end-to-end training of each variant (same data, steps, seed): validation loss,
                                  max/mean expert load, drop fraction, training tokens/s (the MoE-vs-dense experiment)
      tokenizer [--corpus .data/corpora/brown.jsonl] [--vocab 4096,8192]
                                  BPE training time, encode/decode throughput (ours vs Microsoft.ML.Tokenizers)
      peak                        measure the matmul peak used for MFU (fp32 1024^3 on CPU, bf16 8192^3 on CUDA)

    Common options:
      --device cpu|cuda|cuda:N    where the model runs (default cpu)
      --backend cpu|cuda          which libtorch to initialise (default: the device's); cuda loads PyTorch's libtorch
      --libtorch <dir>            CUDA libtorch folder (else MOE_LIBTORCH_DIR, else python3's torch/lib)
      --dtype fp32|bf16           bf16 = MoeTransformer.ToComputeDtype(BFloat16): router and norms stay fp32
      --threads N                 torch intra-op threads
      --peak-tflops X             peak for MFU instead of measuring it
      --peak-size N               matrix size of the measured peak (default 1024 on CPU, 8192 on CUDA)
      --set field=value           config override, repeatable (e.g. --set moe.top_k=4)
      --json [path]               also print one JSON object per measurement on stdout (and write them to path)

    Progress goes to stderr; results and JSON lines to stdout.
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

try
{
    var options = new BenchArgs(args.Skip(1));
    return args[0] switch
    {
        "step" => Commands.Step(options),
        "moe-vs-dense" => Commands.MoeVsDense(options),
        "export" => ExportCommand.Run(options),
        "all" => AllCommand.Run(options),
        "peak" => Commands.PeakOnly(options),
        "train" => TrainCompareCommand.Run(options),
        "tokenizer" => TokenizerCommand.Run(options),
        _ => throw new UsageException($"unknown command '{args[0]}'"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}\n");
    Console.Error.WriteLine(Usage);
    return 2;
}
catch (Exception e) when (e is ConfigException or TorchBackendException or InvalidDataException or IOException or ArgumentException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
