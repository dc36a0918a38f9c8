using System.Diagnostics;

namespace Moe.Web.Tests.Fuzz;

/// <summary>An answer as the runner sees it: the status, the body, and the exception the server logged for it (if any).</summary>
public sealed record FuzzAnswer(int Status, string Body, string? ServerError = null);

/// <summary>What requests may have written: snapshots, and what was added between two of them (null when nothing).</summary>
public interface IRecordProbe
{
    RecordSnapshot Snapshot();
    string? Added(RecordSnapshot before, RecordSnapshot after);
}

/// <summary>A request answered wrongly: the case, its status and answer, the problem, and what explains it (the server's exception, the records left).</summary>
public sealed record FuzzFailure(FuzzCase Case, int Status, string Answer, string Problem, string? Detail);

/// <summary>Sends the cases one at a time, in order, until the budget is spent, and judges each answer with <see cref="FuzzOracle"/>.</summary>
public static class FuzzRunner
{
    /// <param name="send">Sends one case; <paramref name="afterEach"/> runs after it is judged (to undo what an accepted case started).</param>
    public static async Task<(int Sent, List<FuzzFailure> Failures)> RunAsync(IReadOnlyList<FuzzCase> cases, Func<FuzzCase, Task<FuzzAnswer>> send,
        IRecordProbe records, TimeSpan budget, Func<FuzzCase, FuzzAnswer, Task>? afterEach = null)
    {
        var failures = new List<FuzzFailure>();
        var clock = Stopwatch.StartNew();
        int sent = 0;
        foreach (var fuzz in cases)
        {
            if (clock.Elapsed > budget) break;
            var before = records.Snapshot();
            var answer = await send(fuzz);
            sent++;
            var after = records.Snapshot();
            var left = after == before ? null : records.Added(before, after);
            if (FuzzOracle.Judge(fuzz, answer.Status, left) is { } problem)
                failures.Add(new FuzzFailure(fuzz, answer.Status, answer.Body, problem, answer.Status >= 500 ? answer.ServerError : left));
            if (afterEach is not null) await afterEach(fuzz, answer);
        }
        return (sent, failures);
    }
}
