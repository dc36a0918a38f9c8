using System.Runtime.InteropServices;

namespace Moe.Trainer;

/// <summary>
/// Ctrl-C (or SIGTERM from a supervising worker) asks the run to stop after the current step and write a checkpoint;
/// a second Ctrl-C exits at once.
/// </summary>
public sealed class Interruption : IDisposable
{
    public const int ExitCode = 130;
    readonly CancellationTokenSource source = new();
    readonly PosixSignalRegistration? sigterm;
    int presses;

    public CancellationToken Token => source.Token;

    public Interruption()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        if (!OperatingSystem.IsWindows())
            sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                Request("SIGTERM");
            });
    }

    void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (Interlocked.Increment(ref presses) > 1)
        {
            Console.Error.WriteLine("interrupted again: exiting now without a checkpoint");
            Environment.Exit(ExitCode);
        }
        e.Cancel = true;
        Request("Ctrl-C");
    }

    void Request(string what)
    {
        if (source.IsCancellationRequested) return;
        Console.Error.WriteLine($"{what}: stopping after this step and writing a checkpoint (Ctrl-C again to exit at once)");
        source.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        sigterm?.Dispose();
        source.Dispose();
    }
}
