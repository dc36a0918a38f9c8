using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Moe.Supervision;

/// <summary>
/// An exclusive lease on a folder, held by one process for its life: an OS lock (<c>flock</c>) on
/// <c>&lt;folder&gt;/.lease</c>. The kernel releases it when the holder exits, however it exits (SIGKILL included), so a
/// lease never goes stale and a second process for the same folder is refused while the first lives. The file also
/// names its holder (pid, start time, what it is), so a supervisor that restarts can find and stop what an earlier
/// incarnation left running: by the lease, not by process name.
/// </summary>
public sealed class ProcessLease : IDisposable
{
    public const string FileName = ".lease";

    private SafeLockHandle? _handle;

    private ProcessLease(string folder, SafeLockHandle handle, LeaseHolder holder)
    {
        Folder = folder;
        _handle = handle;
        Holder = holder;
    }

    /// <summary>The leased folder (full path).</summary>
    public string Folder { get; }

    /// <summary>This process, as the lease file names it.</summary>
    public LeaseHolder Holder { get; }

    /// <summary>Takes the lease for this process's life (or until disposed); throws when another process holds it.</summary>
    public static ProcessLease Acquire(string folder, string description) =>
        TryAcquire(folder, description) ?? throw new LeaseHeldException(Path.GetFullPath(folder), FindHolder(folder));

    /// <summary>Takes the lease, or returns null when another process holds it.</summary>
    public static ProcessLease? TryAcquire(string folder, string description)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(folder);
        var handle = SafeLockHandle.TryLock(Path.Combine(folder, FileName));
        if (handle is null) return null;
        int? supervisor = SupervisorLink.SupervisorPid();
        var holder = new LeaseHolder(Environment.ProcessId, ProcessIdentity.StartTimeOf(Environment.ProcessId) ?? 0,
            description, DateTimeOffset.UtcNow, supervisor, supervisor is { } pid ? ProcessIdentity.StartTimeOf(pid) ?? 0 : 0);
        handle.Overwrite(holder.ToJson());
        return new ProcessLease(folder, handle, holder);
    }

    /// <summary>Whether some process holds the folder's lease now (a momentary lock attempt; nothing is written).</summary>
    public static bool IsHeld(string folder)
    {
        var path = Path.Combine(Path.GetFullPath(folder), FileName);
        if (!File.Exists(path)) return false;
        using var probe = SafeLockHandle.TryLock(path, create: false);
        return probe is null && File.Exists(path);
    }

    /// <summary>
    /// The live process the lease file names, or null when the folder has no lease file, or the named process has
    /// exited or is another process that reused its pid (the start time differs).
    /// </summary>
    public static LeaseHolder? FindHolder(string folder)
    {
        var text = SafeLockHandle.ReadAll(Path.Combine(Path.GetFullPath(folder), FileName));
        return text is null ? null : LeaseHolder.Parse(text) is { } holder && holder.IsAlive() ? holder : null;
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _handle, null)?.Dispose();
    }

    public override string ToString() => $"{Folder} leased by {Holder}";
}

/// <summary>
/// A process holding a lease: its pid and kernel start time (which tell it apart from a later process with the same pid),
/// and the supervisor that started it, if one did (<see cref="SupervisorLink"/>).
/// </summary>
public sealed record LeaseHolder(int ProcessId, long StartTime, string Description, DateTimeOffset AcquiredAt,
    int? SupervisorPid = null, long SupervisorStartTime = 0)
{
    /// <summary>Whether this very process still runs (same pid and start time).</summary>
    public bool IsAlive() => IsRunning(ProcessId, StartTime);

    /// <summary>
    /// Started by a supervisor that no longer runs: nobody supervises it (it should have exited with its supervisor).
    /// A process nobody started as a child (a user's own trainer) is never an orphan.
    /// </summary>
    public bool IsOrphan() => SupervisorPid is { } supervisor && !IsRunning(supervisor, SupervisorStartTime);

    private static bool IsRunning(int pid, long startTime) =>
        ProcessIdentity.StartTimeOf(pid) is { } start && (startTime == 0 || start == startTime);

    public string ToJson() => JsonSerializer.Serialize(new Record(ProcessId, StartTime, Description, AcquiredAt, SupervisorPid, SupervisorStartTime));

    /// <summary>Null for a torn or foreign file.</summary>
    public static LeaseHolder? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Record>(json) is { pid: > 0 } r
                ? new(r.pid, r.start_time, r.description ?? "", r.acquired_at, r.supervisor_pid, r.supervisor_start_time)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public override string ToString() =>
        $"pid {ProcessId} ({Description}) since {AcquiredAt.ToString("u", CultureInfo.InvariantCulture)}"
        + (SupervisorPid is { } s ? $", started by pid {s}" : "");

    // The file's fields, snake_case like the platform's other JSON.
    private sealed record Record(int pid, long start_time, string? description, DateTimeOffset acquired_at, int? supervisor_pid,
        long supervisor_start_time);
}

/// <summary>The folder is leased by another live process.</summary>
public sealed class LeaseHeldException(string folder, LeaseHolder? holder) : IOException(
    $"{folder} is in use by another process ({holder?.ToString() ?? "its holder is starting or could not be read"}); "
    + "two processes must never write one folder")
{
    public string Folder { get; } = folder;
    public LeaseHolder? Holder { get; } = holder;
}

/// <summary>What identifies a process beyond its pid, which the kernel reuses.</summary>
public static class ProcessIdentity
{
    /// <summary>
    /// The process's start time in clock ticks since boot (field 22 of <c>/proc/&lt;pid&gt;/stat</c>), or null when no such
    /// process runs (a zombie counts as gone: it holds no files). Off Linux: the start time from .NET.
    /// </summary>
    public static long? StartTimeOf(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] == "Z" || fields[0] == "X") return null;
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.HasExited ? null : process.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}

/// <summary>
/// The lease file's descriptor with <c>flock(LOCK_EX)</c> held, opened with raw syscalls (close-on-exec, so children of
/// the holder never inherit the lock) rather than FileStream, whose own advisory locking would get in the way of
/// reading the holder's name while the lock is held.
/// </summary>
internal sealed class SafeLockHandle : SafeHandle
{
    private SafeLockHandle(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    /// <summary>The locked file, or null when another process holds the lock.</summary>
    public static SafeLockHandle? TryLock(string path, bool create = true)
    {
        EnsureSupported();
        int fd = Native.open(path, Native.O_RDWR | Native.O_CLOEXEC | (create ? Native.O_CREAT : 0), 0b110_100_100);
        if (fd < 0)
        {
            int openError = Marshal.GetLastPInvokeError();
            if (!create && openError == Native.ENOENT) return null;
            throw new IOException($"cannot open {path}: errno {openError}");
        }
        var handle = new SafeLockHandle(fd);
        if (Native.flock(fd, Native.LOCK_EX | Native.LOCK_NB) == 0) return handle;
        int error = Marshal.GetLastPInvokeError();
        handle.Dispose();
        if (error == Native.EWOULDBLOCK) return null;
        throw new IOException($"cannot lock {path}: errno {error}");
    }

    /// <summary>The file's text, or null when it does not exist.</summary>
    public static string? ReadAll(string path)
    {
        EnsureSupported();
        int fd = Native.open(path, Native.O_RDONLY | Native.O_CLOEXEC, 0);
        if (fd < 0) return null;
        using var handle = new SafeLockHandle(fd);
        var buffer = new byte[4096];
        long n = Native.pread(fd, buffer, buffer.Length, 0);
        return n <= 0 ? "" : Encoding.UTF8.GetString(buffer, 0, (int)n);
    }

    /// <summary>Replaces the file's content (it is small: one write).</summary>
    public void Overwrite(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        int fd = (int)handle;
        if (Native.ftruncate(fd, 0) != 0 || Native.pwrite(fd, bytes, bytes.Length, 0) != bytes.Length)
            throw new IOException($"cannot write the lease file: errno {Marshal.GetLastPInvokeError()}");
    }

    protected override bool ReleaseHandle() => Native.close((int)handle) == 0; // closing releases the lock

    private static void EnsureSupported()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("process leases need Linux (flock and /proc)");
    }

    private static class Native
    {
        public const int O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0x40, O_CLOEXEC = 0x80000;
        public const int LOCK_EX = 2, LOCK_NB = 4;
        public const int ENOENT = 2, EWOULDBLOCK = 11;

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", SetLastError = true)]
        public static extern int flock(int fd, int operation);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int ftruncate(int fd, long length);

        [DllImport("libc", SetLastError = true)]
        public static extern nint pwrite(int fd, byte[] buffer, nint count, long offset);

        [DllImport("libc", SetLastError = true)]
        public static extern nint pread(int fd, byte[] buffer, nint count, long offset);
    }
}
