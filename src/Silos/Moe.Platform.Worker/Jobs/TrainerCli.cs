using System.Diagnostics;

namespace Moe.Platform.Worker.Jobs;

/// <summary>The result of a one-shot trainer command (tokenizer training, dataset preparation).</summary>
public sealed record TrainerCliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// Runs a short <c>moe-trainer</c> command to its end (<c>tokenizer train</c>, <c>data prepare</c>) with the same
/// launcher as training jobs. Cancelling kills the process.
/// </summary>
public static class TrainerCli
{
    /// <param name="leaseFolder">A folder the command leases for its life, so a restarted supervisor finds and stops it
    /// should it outlive this process (see <see cref="OrphanedProcesses"/>).</param>
    public static async Task<TrainerCliResult> RunAsync(TrainerExecutable trainer, IEnumerable<string> arguments,
        string workingDirectory, CancellationToken cancellationToken = default, string? leaseFolder = null)
    {
        // stdin stays open until the process is disposed: the command exits should this process die first.
        using var process = Process.Start(trainer.CreateStartInfo(arguments, workingDirectory, leaseFolder: leaseFolder))
                            ?? throw new InvalidOperationException($"could not start {trainer}");
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new TrainerCliResult(process.ExitCode, await stdout, await stderr);
    }
}
