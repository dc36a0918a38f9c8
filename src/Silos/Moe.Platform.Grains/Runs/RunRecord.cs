using Moe.Platform.Runs;

namespace Moe.Platform.Grains.Runs;

/// <summary>
/// A created run's behaviour over its persisted <see cref="RunState"/>: every status change goes through
/// <see cref="RunLifecycle"/> (so an illegal one throws and changes nothing), and each says what the scheduler must
/// hear. Plain class: the grain only loads, saves and forwards.
/// </summary>
internal sealed class RunRecord
{
    private readonly RunLifecycle _lifecycle;

    private RunRecord(RunState state, TimeProvider time)
    {
        Spec = state.Spec ?? throw new ArgumentException("the run was never created", nameof(state));
        SubmittedAt = state.SubmittedAt;
        _lifecycle = RunLifecycle.Restore(
            state.Lifecycle ?? throw new ArgumentException("the run has no lifecycle", nameof(state)), time);
        WorkerId = state.WorkerId;
        LastStep = state.LastStep;
        BestValLoss = state.BestValLoss;
    }

    public RunSpec Spec { get; }
    public DateTimeOffset SubmittedAt { get; }
    public RunStatus Status => _lifecycle.Status;
    public string? WorkerId { get; private set; }
    public long? LastStep { get; private set; }
    public double? BestValLoss { get; private set; }

    public static RunRecord Create(RunSpec spec, TimeProvider time)
    {
        spec.Validate();
        spec = spec with { RequiredTags = spec.RequiredTagsOrEmpty }; // a default array cannot be stored as JSON
        var lifecycle = new RunLifecycle(spec.MaxRetries, time);
        return new RunRecord(
            new RunState { Spec = spec, SubmittedAt = time.GetUtcNow(), Lifecycle = lifecycle.Snapshot() }, time);
    }

    public static RunRecord Restore(RunState state, TimeProvider time) => new(state, time);

    public SchedulerNotice Schedule(string workerId)
    {
        if (string.IsNullOrWhiteSpace(workerId)) throw new PlatformException("worker_id", "is required");
        _lifecycle.Apply(RunStatus.Scheduled, $"placed on worker {workerId}");
        WorkerId = workerId;
        return SchedulerNotice.None;
    }

    public SchedulerNotice Start()
    {
        _lifecycle.Apply(RunStatus.Running, "process started");
        return SchedulerNotice.Started;
    }

    public void Progress(long step, double? valLoss)
    {
        if (Status != RunStatus.Running)
            throw new PlatformException("status", $"progress is accepted only while Running, the run is {Status}");
        if (step < 0) throw new PlatformException("step", $"must be 0 or more, got {step}");
        LastStep = step;
        if (valLoss is { } loss && (BestValLoss is null || loss < BestValLoss)) BestValLoss = loss;
    }

    /// <summary>
    /// Moves the last step and best validation loss on from a metric batch (any status: a stopping process still
    /// flushes its last points). Returns whether anything changed.
    /// </summary>
    public bool RecordMetrics(IReadOnlyList<Metrics.MetricPoint> points)
    {
        long? last = LastStep;
        double? best = BestValLoss;
        foreach (var point in points)
        {
            if (point.Name == LossMetric && (last is null || point.Step > last)) last = point.Step;
            if (point.Name == ValLossMetric && double.IsFinite(point.Value) && (best is null || point.Value < best)) best = point.Value;
        }
        if (last == LastStep && best == BestValLoss) return false;
        (LastStep, BestValLoss) = (last, best);
        return true;
    }

    private const string LossMetric = Worker.Metrics.MetricNames.Loss, ValLossMetric = Worker.Metrics.MetricNames.ValLoss;

    public SchedulerNotice Succeed()
    {
        _lifecycle.Apply(RunStatus.Succeeded, "process finished all steps");
        return SchedulerNotice.Release;
    }

    public SchedulerNotice ProcessLost(string reason)
    {
        switch (Status)
        {
            case RunStatus.Scheduled: // it never started, so no retry is used
                return Requeue($"placement lost before the process started: {reason}");
            case RunStatus.Resuming: // it was stopping anyway; it resumes from its last checkpoint
                return Requeue($"stopped while being preempted: {reason}");
            default: // Running: Retrying or Failed; any other status throws the usual illegal-transition error
                if (_lifecycle.ProcessLost(reason).To == RunStatus.Failed) return SchedulerNotice.Release;
                return Requeue($"retry: attempt {_lifecycle.Attempt}, {_lifecycle.RetriesLeft} more retries allowed");
        }
    }

    /// <summary>Its worker is gone: queued again without using a retry, whatever stage it had reached on that worker.</summary>
    public SchedulerNotice WorkerLost(string reason)
    {
        if (Status != RunStatus.Running) return ProcessLost(reason); // Scheduled and Resuming use no retry either
        _lifecycle.WorkerLost($"{reason}; requeued without using a retry");
        WorkerId = null;
        return SchedulerNotice.Enqueue;
    }

    public SchedulerNotice Fail(string reason)
    {
        _lifecycle.Fail(reason);
        return SchedulerNotice.Release;
    }

    /// <summary>A failed or cancelled run is queued again; it continues from its newest checkpoint.</summary>
    public SchedulerNotice Resume(string reason)
    {
        _lifecycle.Resume(reason);
        WorkerId = null;
        return SchedulerNotice.Enqueue;
    }

    public SchedulerNotice Cancel(string reason)
    {
        _lifecycle.Cancel(reason);
        return SchedulerNotice.Release;
    }

    public SchedulerNotice Preempt(string reason)
    {
        // The scheduler counts a scheduled run as holding resources, so it may pick one that has not started.
        if (Status == RunStatus.Scheduled) return Requeue($"preempted before the process started: {reason}");
        _lifecycle.Apply(RunStatus.Resuming, reason);
        return SchedulerNotice.None; // the scheduler already counts it as stopping
    }

    public SchedulerNotice Stopped() => Requeue("stopped after preemption; resumes from its checkpoint");

    private SchedulerNotice Requeue(string reason)
    {
        _lifecycle.Apply(RunStatus.Queued, reason);
        WorkerId = null;
        return SchedulerNotice.Enqueue;
    }

    public RunState ToState() => new()
    {
        Spec = Spec, SubmittedAt = SubmittedAt, Lifecycle = _lifecycle.Snapshot(), WorkerId = WorkerId,
        LastStep = LastStep, BestValLoss = BestValLoss,
    };

    public RunSnapshot Snapshot(string runId) => new(
        runId, Spec, SubmittedAt, Status, _lifecycle.Attempt, [.. _lifecycle.History], WorkerId, LastStep, BestValLoss);
}
