using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Moe.Supervision;

/// <summary>
/// Sends POSIX signals. .NET's <c>Process.Kill</c> always sends SIGKILL on Unix, which gives the trainer no chance
/// to checkpoint; a graceful stop needs SIGTERM, which the trainer answers with a checkpoint and exit code 130.
/// </summary>
public static class PosixSignals
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    /// <summary>Exit codes of a process ended by signal n read as 128 + n (.NET and shells both report it so).</summary>
    public const int SignalExitBase = 128;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process no longer exists.</summary>
    public static bool Send(int pid, int signal)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("POSIX signals need Linux or macOS");
        if (Kill(pid, signal) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        const int NoSuchProcess = 3; // ESRCH: already exited (and reaped)
        if (errno == NoSuchProcess) return false;
        throw new Win32Exception(errno, $"kill({pid}, {signal}) failed");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>A signal's usual name, for messages.</summary>
    public static string Name(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE",
        9 => "SIGKILL", 11 => "SIGSEGV", 13 => "SIGPIPE", 15 => "SIGTERM",
        _ => $"signal {signal}",
    };
}
