using Microsoft.Extensions.Logging;
using Moe.Supervision;

namespace Moe.Platform.Worker.Jobs;

/// <summary>
/// What a restarted supervisor does about children an earlier incarnation left running. They should have exited with
/// it (<see cref="SupervisorLink"/>); this is the second line of defence, and it finds them by the lease they hold on
/// their folder (<see cref="ProcessLease"/>), never by process name: a holder is asked to stop (SIGTERM) and killed
/// (SIGKILL) when it has not exited after the grace period.
/// </summary>
public static class OrphanedProcesses
{
    /// <summary>How long an orphan gets to exit after SIGTERM. Short: nobody records what it writes any more.</summary>
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for a holder that has just taken the lease to name itself in the lease file.</summary>
    private static readonly TimeSpan NamingTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Returns once no process holds <paramref name="folder"/>'s lease, stopping the holders it finds; returns those it
    /// stopped (none when the folder was free).
    /// </summary>
    public static async Task<IReadOnlyList<LeaseHolder>> StopLeaseHolderAsync(string folder, TimeSpan grace, ILogger logger,
        CancellationToken cancellationToken = default)
    {
        var stopped = new List<LeaseHolder>();
        var unnamedSince = (DateTime?)null;
        while (ProcessLease.IsHeld(folder))
        {
            if (ProcessLease.FindHolder(folder) is not { } holder)
            {
                // Locked, but the file does not name a live process yet: its holder is between taking the lock and writing.
                unnamedSince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - unnamedSince > NamingTimeout)
                    throw new IOException($"{folder} is leased by a process that does not name itself in {ProcessLease.FileName}");
                await Task.Delay(50, cancellationToken);
                continue;
            }
            unnamedSince = null;
            logger.LogWarning("{Folder} is still leased by {Holder}, which an earlier supervisor left running: stopping it", folder, holder);
            PosixSignals.Send(holder.ProcessId, PosixSignals.SigTerm);
            if (!await ExitedAsync(holder, grace, cancellationToken))
            {
                logger.LogWarning("pid {Pid} did not exit within {Grace} of SIGTERM; sending SIGKILL", holder.ProcessId, grace);
                PosixSignals.Send(holder.ProcessId, PosixSignals.SigKill);
                if (!await ExitedAsync(holder, TimeSpan.FromSeconds(30), cancellationToken))
                    throw new IOException($"pid {holder.ProcessId}, holding {folder}, did not exit after SIGKILL");
            }
            stopped.Add(holder);
        }
        return stopped;
    }

    /// <summary>
    /// Stops the orphans among the lease holders of the folders directly under <paramref name="root"/>: processes whose
    /// supervisor no longer runs. Children of a live supervisor (another app sharing the folder) are left alone. Returns
    /// how many it stopped.
    /// </summary>
    public static async Task<int> StopOrphansUnderAsync(string root, TimeSpan grace, ILogger logger, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(root)) return 0;
        int count = 0;
        foreach (var folder in Directory.EnumerateDirectories(root))
            if (ProcessLease.FindHolder(folder) is { } holder && holder.IsOrphan())
                count += (await StopLeaseHolderAsync(folder, grace, logger, cancellationToken)).Count;
        return count;
    }

    private static async Task<bool> ExitedAsync(LeaseHolder holder, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (holder.IsAlive())
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(50, cancellationToken);
        }
        return true;
    }
}
