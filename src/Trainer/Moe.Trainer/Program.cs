using Moe.Model.Backend;
using Moe.Model.Config;
using Moe.Trainer;

// moe-trainer: the Trainer's command line. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration, 3 torch backend unavailable.
try
{
    return args switch
    {
        ["info", .. var rest] => InfoCommand.Run(CommandArgs.Parse(rest)),
        [] or ["help" or "--help" or "-h"] => Usage(0),
        _ => Usage(2, $"unknown command '{args[0]}'"),
    };
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
catch (TorchBackendException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 3;
}

static int Usage(int code, string? problem = null)
{
    if (problem is not null) Console.Error.WriteLine($"error: {problem}");
    (code == 0 ? Console.Out : Console.Error).WriteLine("""
        usage: moe-trainer <command> [options] [field.path=value ...]

        commands:
          info   --config <file.json> [--device cpu|cuda|cuda:N] [--libtorch <dir>] [--batch B] [--seq T] [--steps N]
                 Build the model, print total and active-per-token parameters, FLOPs per token,
                 and time forward+backward steps on random tokens.

        Trailing field.path=value arguments override the configuration, e.g. moe.top_k=4.
        """);
    return code;
}
