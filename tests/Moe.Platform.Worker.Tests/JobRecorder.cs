using Moe.Platform.Worker.Events;
using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Worker.Tests;

/// <summary>Reads a job's events to the end (handing each to <c>onEvent</c>) and returns them with the outcome.</summary>
public static class JobRecorder
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static async Task<(List<TrainerEvent> Events, JobOutcome Outcome)> RecordAsync(TrainingJob job,
        Func<TrainerEvent, Task>? onEvent = null)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var events = new List<TrainerEvent>();
        await foreach (var e in job.ReadEventsAsync(timeout.Token))
        {
            events.Add(e);
            if (onEvent is not null) await onEvent(e);
        }
        return (events, await job.Completion.WaitAsync(timeout.Token));
    }

    public static List<long> Steps(this IEnumerable<TrainerEvent> events) => events.OfType<TrainingStep>().Select(s => s.Step).ToList();
}
