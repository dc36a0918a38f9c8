using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Worker.Tests;

public sealed class JobOutcomeTests
{
    [Theory]
    [InlineData(0, false, JobOutcomeKind.Completed, null)]
    [InlineData(0, true, JobOutcomeKind.Completed, null)] // finished before our SIGTERM arrived
    [InlineData(130, true, JobOutcomeKind.Cancelled, null)]
    [InlineData(130, false, JobOutcomeKind.Interrupted, null)]
    [InlineData(137, false, JobOutcomeKind.Killed, 9)]
    [InlineData(137, true, JobOutcomeKind.Killed, 9)]
    [InlineData(143, false, JobOutcomeKind.Killed, 15)]
    [InlineData(139, false, JobOutcomeKind.Killed, 11)]
    [InlineData(1, false, JobOutcomeKind.Failed, null)]
    [InlineData(2, true, JobOutcomeKind.Failed, null)]
    [InlineData(3, false, JobOutcomeKind.Failed, null)]
    [InlineData(255, false, JobOutcomeKind.Failed, null)]
    public void ExitCodesAreClassified(int exitCode, bool stopRequested, JobOutcomeKind kind, int? signal)
    {
        Assert.Equal((kind, signal), JobOutcome.Classify(exitCode, stopRequested));
    }

    [Fact]
    public void AFailureDescribesItselfWithTheTrainersErrorLine()
    {
        var outcome = new JobOutcome(JobOutcomeKind.Failed, 1, null, 40, 40,
            ["step 40/100 loss 2.1", "error: training diverged at step 41 (loss NaN)"]);
        Assert.Equal("failed with exit code 1: error: training diverged at step 41 (loss NaN)", outcome.ToString());
        Assert.Equal("killed by SIGKILL (exit 137) after step 12", (outcome with { Kind = JobOutcomeKind.Killed, ExitCode = 137, Signal = 9, LastStep = 12 }).ToString());
    }
}
