using System.Globalization;
using System.Runtime.InteropServices;

namespace Moe.Supervision;

/// <summary>
/// How a supervisor and the child it starts agree that the child dies with it. The supervisor names itself in
/// <see cref="SupervisorPidVariable"/> and keeps the write end of the child's stdin open for the child's life; the child
/// (<see cref="WatchSupervisor"/>) treats end-of-file on stdin, or being re-parented away from that pid, as its
/// supervisor's death. Linux's PR_SET_PDEATHSIG is not used: it fires when the thread that forked the child ends, and
/// .NET forks from thread-pool threads, which retire while the supervisor lives on.
/// </summary>
public static class SupervisorLink
{
    /// <summary>Set by the supervisor: its pid. Unset, a process is not supervised and watches nothing.</summary>
    public const string SupervisorPidVariable = "MOE_SUPERVISOR_PID";

    /// <summary>Set by the supervisor for one-shot children: a folder the child leases for its life (<see cref="ProcessLease"/>).</summary>
    public const string LeaseFolderVariable = "MOE_LEASE_DIR";

    /// <summary>A child's exit code when it stops because its supervisor is gone.</summary>
    public const int SupervisorGoneExitCode = 5;

    /// <summary>The environment a supervised child gets: this process as its supervisor, and the folder it leases if any.</summary>
    public static IReadOnlyDictionary<string, string> ChildEnvironment(string? leaseFolder = null)
    {
        var environment = new Dictionary<string, string>
        {
            [SupervisorPidVariable] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
        };
        if (leaseFolder is not null) environment[LeaseFolderVariable] = Path.GetFullPath(leaseFolder);
        return environment;
    }

    /// <summary>
    /// In a supervised child: calls <paramref name="onSupervisorGone"/> once, with the reason, when the supervisor dies
    /// (its stdin pipe reaches end-of-file, or the parent is no longer the supervisor's pid; checked every
    /// <paramref name="pollInterval"/>). Returns null when this process is not supervised.
    /// </summary>
    public static IDisposable? WatchSupervisor(Action<string> onSupervisorGone, TimeSpan? pollInterval = null) =>
        SupervisorPid() is { } supervisor
            ? new SupervisorWatch(supervisor, onSupervisorGone, pollInterval ?? TimeSpan.FromMilliseconds(500))
            : null;

    /// <summary>The supervisor this process was started by (<see cref="SupervisorPidVariable"/>), or null.</summary>
    public static int? SupervisorPid() =>
        Environment.GetEnvironmentVariable(SupervisorPidVariable) is { } text
        && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : null;

    /// <summary>
    /// Ends this process at once with <paramref name="exitCode"/> (<c>_exit</c>): no exit handlers, which native
    /// libraries busy on other threads (libtorch) can crash in, and nothing that could wait.
    /// </summary>
    public static void ExitNow(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (OperatingSystem.IsWindows()) Environment.Exit(exitCode);
        _exit(exitCode);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void _exit(int status);

    /// <summary>Takes the lease the supervisor asked for (<see cref="LeaseFolderVariable"/>), or null when none was.</summary>
    public static ProcessLease? AcquireRequestedLease(string description) =>
        Environment.GetEnvironmentVariable(LeaseFolderVariable) is { Length: > 0 } folder ? ProcessLease.Acquire(folder, description) : null;

    private sealed class SupervisorWatch : IDisposable
    {
        private readonly int _supervisor;
        private readonly Action<string> _onGone;
        private readonly Timer? _parentCheck;
        private int _fired;

        public SupervisorWatch(int supervisor, Action<string> onGone, TimeSpan pollInterval)
        {
            (_supervisor, _onGone) = (supervisor, onGone);
            // The pipe: a blocked read on stdin returns end-of-file the moment the supervisor's last descriptor closes.
            new Thread(WatchStdin) { IsBackground = true, Name = "supervisor stdin watch" }.Start();
            // The parent: only when the supervisor started this process directly (a wrapper script in between has another pid).
            if (OperatingSystem.IsLinux() && getppid() == supervisor)
                _parentCheck = new Timer(_ => CheckParent(), null, pollInterval, pollInterval);
        }

        private void WatchStdin()
        {
            try
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (stdin.Read(buffer, 0, buffer.Length) > 0)
                {
                    // Nothing is ever sent: the pipe exists to close.
                }
                Fire($"its stdin pipe from supervisor pid {_supervisor} closed");
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                Fire($"reading its stdin pipe from supervisor pid {_supervisor} failed: {e.Message}");
            }
        }

        private void CheckParent()
        {
            int parent = getppid();
            if (parent != _supervisor) Fire($"supervisor pid {_supervisor} is gone (re-parented to pid {parent})");
        }

        private void Fire(string reason)
        {
            if (Interlocked.Exchange(ref _fired, 1) == 0) _onGone(reason);
        }

        /// <summary>Stops watching: a supervisor that closes the pipe after this is no longer a reason to exit.</summary>
        public void Dispose()
        {
            Interlocked.Exchange(ref _fired, 1);
            _parentCheck?.Dispose();
        }

        [DllImport("libc")]
        private static extern int getppid();
    }
}
