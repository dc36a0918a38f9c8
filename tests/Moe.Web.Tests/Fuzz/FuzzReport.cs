using System.Text;

namespace Moe.Web.Tests.Fuzz;

/// <summary>
/// The failures of a run, grouped by problem and mutation (one cause, usually several routes), each request on its own
/// line with its status, answer and detail, so the report shows every offending request and not just the first.
/// </summary>
public static class FuzzReport
{
    const int ShownPerGroup = 12;

    public static string Format(int seed, int sent, IReadOnlyList<FuzzFailure> failures)
    {
        var groups = failures.GroupBy(f => (f.Problem, f.Case.Mutation)).OrderBy(g => g.Key.Problem).ThenBy(g => g.Key.Mutation, StringComparer.Ordinal).ToList();
        var text = new StringBuilder($"seed {seed} (MOE_FUZZ_SEED={seed} replays it): {failures.Count} of {sent} requests were answered wrongly, "
            + $"{groups.Count} causes\n");
        foreach (var group in groups)
        {
            text.Append($"\n== {group.Key.Problem}: [{group.Key.Mutation}] on {group.Select(f => f.Case.Operation.ToString()).Distinct().Count()} routes, "
                + $"{group.Count()} requests\n");
            foreach (var failure in group.Take(ShownPerGroup))
            {
                text.Append($"  {failure.Case} -> {failure.Status}: {FuzzCase.Excerpt(failure.Answer, 200)}\n");
                if (failure.Detail is not null) text.Append($"      {FuzzCase.Excerpt(failure.Detail, 300)}\n");
            }
            if (group.Count() > ShownPerGroup)
                text.Append($"  ... and {group.Count() - ShownPerGroup} more: "
                    + string.Join(", ", group.Skip(ShownPerGroup).Select(f => $"{f.Case.User} {f.Case.Operation} -> {f.Status}")) + "\n");
        }
        return text.ToString();
    }
}
