using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moe.Platform.Worker.Events;
using Moe.Supervision;

namespace Moe.Platform.Worker.Jobs;

/// <summary>
/// One <c>moe-trainer train --json</c> child process under supervision: its stdout parsed into typed
/// <see cref="TrainerEvent"/>s, a bounded tail of its stderr, its exit classified as a <see cref="JobOutcome"/>, and a
/// graceful stop (SIGTERM, then SIGKILL after a grace period). Restarting a job is starting the same command again:
/// the trainer resumes from the newest checkpoint in the run folder.
/// </summary>
public sealed class TrainingJob : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<TrainerEvent> _events = Channel.CreateUnbounded<TrainerEvent>(
        new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly BoundedLineTail _stderr;
    private readonly TrainingJobOptions _options;
    private readonly ILogger _logger;
    private int _stopRequested;
    private long _lastStep = -1, _lastCheckpointStep = -1;

    private TrainingJob(TrainerCommand command, Process process, TrainingJobOptions options)
    {
        Command = command;
        _process = process;
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _stderr = new BoundedLineTail(options.StderrTailLines);
        ProcessId = process.Id;
        Completion = SuperviseAsync();
    }

    /// <summary>Starts the trainer. Throws when the program cannot be started (e.g. the trainer path is wrong).</summary>
    public static TrainingJob Start(TrainerCommand command, TrainingJobOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        options ??= new TrainingJobOptions();
        Directory.CreateDirectory(Path.GetFullPath(command.RunDirectory));
        var info = command.Trainer.CreateStartInfo(command.Arguments(), command.ResolvedWorkingDirectory(), command.Environment);
        // stdin stays open for the process's life: the trainer exits when it closes (this process died).
        var process = Process.Start(info)
                      ?? throw new InvalidOperationException($"could not start {command.Trainer}");
        (options.Logger ?? NullLogger.Instance).LogInformation("started trainer pid {Pid}: {Command}", process.Id, command);
        return new TrainingJob(command, process, options);
    }

    public TrainerCommand Command { get; }

    public int ProcessId { get; }

    /// <summary>
    /// The events in stdout order; completes once the process has exited and its output is drained (before
    /// <see cref="Completion"/>). Read it, once: events are buffered until read.
    /// </summary>
    public ChannelReader<TrainerEvent> Events => _events.Reader;

    /// <summary>Reads <see cref="Events"/> to the end.</summary>
    public IAsyncEnumerable<TrainerEvent> ReadEventsAsync(CancellationToken cancellationToken = default) =>
        _events.Reader.ReadAllAsync(cancellationToken);

    /// <summary>How the process ended; never faults.</summary>
    public Task<JobOutcome> Completion { get; }

    public bool HasExited => Completion.IsCompleted;

    /// <summary>Whether <see cref="StopAsync"/> was called (an exit 130 is then a cancel, not an interruption).</summary>
    public bool StopRequested => Volatile.Read(ref _stopRequested) == 1;

    /// <summary>The last step the trainer reported, or null before its first step record.</summary>
    public long? LastStep => Interlocked.Read(ref _lastStep) is var s and >= 0 ? s : null;

    /// <summary>The last lines of the trainer's stderr so far.</summary>
    public IReadOnlyList<string> StderrTail() => _stderr.Lines();

    /// <summary>
    /// Asks the trainer to stop (SIGTERM: it finishes the current step, writes a checkpoint and exits 130); sends
    /// SIGKILL if it has not exited after <paramref name="grace"/>. Returns the outcome. Cancelling the token stops the
    /// waiting, not the stop.
    /// </summary>
    public async Task<JobOutcome> StopAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (Completion.IsCompleted) return await Completion;
        Interlocked.Exchange(ref _stopRequested, 1);
        if (!_process.HasExited && PosixSignals.Send(ProcessId, PosixSignals.SigTerm))
            _logger.LogInformation("sent SIGTERM to trainer pid {Pid}", ProcessId);

        using var graceOver = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var finished = await Task.WhenAny(Completion, Task.Delay(grace, graceOver.Token));
        graceOver.Cancel();
        if (finished != Completion)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _logger.LogWarning("trainer pid {Pid} did not stop within {Grace}; sending SIGKILL", ProcessId, grace);
            Kill();
        }
        return await Completion.WaitAsync(cancellationToken);
    }

    /// <summary>Ends the process at once (SIGKILL): no checkpoint; the outcome is <see cref="JobOutcomeKind.Killed"/>.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private async Task<JobOutcome> SuperviseAsync()
    {
        var stdout = PumpStdoutAsync();
        var stderr = PumpStderrAsync();
        await _process.WaitForExitAsync();
        try
        {
            await Task.WhenAll(stdout, stderr).WaitAsync(_options.DrainTimeout);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("trainer pid {Pid} exited but its output stayed open for {Timeout}; completing without the rest",
                ProcessId, _options.DrainTimeout);
        }

        var exitCode = _process.ExitCode;
        var (kind, signal) = JobOutcome.Classify(exitCode, StopRequested);
        var outcome = new JobOutcome(kind, exitCode, signal, LastStep,
            Interlocked.Read(ref _lastCheckpointStep) is var c and >= 0 ? c : null, _stderr.Lines());
        _events.Writer.TryComplete();
        _logger.Log(kind is JobOutcomeKind.Completed or JobOutcomeKind.Cancelled ? LogLevel.Information : LogLevel.Warning,
            "trainer pid {Pid} {Outcome}", ProcessId, outcome);
        return outcome;
    }

    private async Task PumpStdoutAsync()
    {
        long lineNumber = 0;
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var trainerEvent = TrainerEventParser.Parse(line, lineNumber);
                switch (trainerEvent)
                {
                    case TrainingStep step:
                        Interlocked.Exchange(ref _lastStep, step.Step);
                        break;
                    case CheckpointWritten checkpoint:
                        Interlocked.Exchange(ref _lastCheckpointStep, checkpoint.Step);
                        break;
                    case MalformedLine malformed:
                        _logger.LogWarning("trainer pid {Pid} stdout line {Line}: {Problem}: {Text}",
                            ProcessId, malformed.LineNumber, malformed.Problem, malformed.Text);
                        break;
                }
                _events.Writer.TryWrite(trainerEvent);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _logger.LogWarning(e, "reading the stdout of trainer pid {Pid} failed", ProcessId);
        }
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                _stderr.Add(line);
                _options.StderrLine?.Invoke(line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _logger.LogWarning(e, "reading the stderr of trainer pid {Pid} failed", ProcessId);
        }
    }

    /// <summary>Kills a process still running (a job must not outlive its supervisor) and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!Completion.IsCompleted) Kill();
        try
        {
            await Completion.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            _logger.LogError("trainer pid {Pid} did not exit after SIGKILL", ProcessId);
        }
        _process.Dispose();
    }
}
