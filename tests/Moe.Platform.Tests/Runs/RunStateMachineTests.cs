using Moe.Platform.Runs;

namespace Moe.Platform.Tests.Runs;

public class RunStateMachineTests
{
    // Written out by hand from the lifecycle spec, independently of the implementation's table.
    private static readonly HashSet<(RunStatus, RunStatus)> Legal =
    [
        (RunStatus.Queued, RunStatus.Scheduled),
        (RunStatus.Queued, RunStatus.Failed),
        (RunStatus.Queued, RunStatus.Cancelled),
        (RunStatus.Scheduled, RunStatus.Running),
        (RunStatus.Scheduled, RunStatus.Queued),
        (RunStatus.Scheduled, RunStatus.Cancelled),
        (RunStatus.Scheduled, RunStatus.Failed),
        (RunStatus.Running, RunStatus.Succeeded),
        (RunStatus.Running, RunStatus.Failed),
        (RunStatus.Running, RunStatus.Retrying),
        (RunStatus.Running, RunStatus.Resuming),
        (RunStatus.Running, RunStatus.Cancelled),
        (RunStatus.Running, RunStatus.Queued), // its worker was lost
        (RunStatus.Retrying, RunStatus.Queued),
        (RunStatus.Retrying, RunStatus.Cancelled),
        (RunStatus.Resuming, RunStatus.Queued),
        (RunStatus.Resuming, RunStatus.Cancelled),
        (RunStatus.Failed, RunStatus.Queued), // resumed by a user
        (RunStatus.Cancelled, RunStatus.Queued), // resumed by a user
    ];

    public static TheoryData<RunStatus, RunStatus> LegalPairs() => Pairs(legal: true);
    public static TheoryData<RunStatus, RunStatus> IllegalPairs() => Pairs(legal: false);

    private static TheoryData<RunStatus, RunStatus> Pairs(bool legal)
    {
        var data = new TheoryData<RunStatus, RunStatus>();
        foreach (var from in Enum.GetValues<RunStatus>())
        foreach (var to in Enum.GetValues<RunStatus>())
            if (Legal.Contains((from, to)) == legal) data.Add(from, to);
        return data;
    }

    [Fact]
    public void The_matrix_has_19_legal_and_45_illegal_moves()
    {
        Assert.Equal(8, Enum.GetValues<RunStatus>().Length);
        Assert.Equal(19, LegalPairs().Count);
        Assert.Equal(45, IllegalPairs().Count);
    }

    [Theory]
    [MemberData(nameof(LegalPairs))]
    public void Legal_move_is_allowed(RunStatus from, RunStatus to)
    {
        Assert.True(RunStateMachine.IsAllowed(from, to));
        Assert.Contains(to, RunStateMachine.AllowedFrom(from));
        RunStateMachine.EnsureAllowed(from, to);
    }

    [Theory]
    [MemberData(nameof(IllegalPairs))]
    public void Illegal_move_is_refused_naming_both_statuses(RunStatus from, RunStatus to)
    {
        Assert.False(RunStateMachine.IsAllowed(from, to));
        Assert.DoesNotContain(to, RunStateMachine.AllowedFrom(from));
        var error = Assert.Throws<IllegalTransitionException>(() => RunStateMachine.EnsureAllowed(from, to));
        Assert.Equal(from, error.From);
        Assert.Equal(to, error.To);
        Assert.Equal("status", error.Field);
        Assert.Equal($"a run cannot go from {from} to {to}", error.Problem);
        Assert.IsAssignableFrom<PlatformException>(error);
    }

    [Fact]
    public void A_succeeded_run_has_no_way_out()
    {
        Assert.True(RunStatus.Succeeded.IsTerminal());
        Assert.Empty(RunStateMachine.AllowedFrom(RunStatus.Succeeded));
    }

    [Theory]
    [InlineData(RunStatus.Failed)]
    [InlineData(RunStatus.Cancelled)]
    public void Failed_and_cancelled_runs_can_only_be_resumed(RunStatus terminal)
    {
        Assert.True(terminal.IsTerminal());
        Assert.Equal([RunStatus.Queued], RunStateMachine.AllowedFrom(terminal));
    }

    [Theory]
    [InlineData(RunStatus.Queued)]
    [InlineData(RunStatus.Scheduled)]
    [InlineData(RunStatus.Running)]
    [InlineData(RunStatus.Retrying)]
    [InlineData(RunStatus.Resuming)]
    public void Every_non_terminal_status_can_be_cancelled(RunStatus status)
    {
        Assert.False(status.IsTerminal());
        Assert.True(RunStateMachine.IsAllowed(status, RunStatus.Cancelled));
    }
}
