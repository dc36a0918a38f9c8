using Moe.Web.Apis;
using Moe.Web.Queries;

namespace Moe.Web.Components.Experiments;

/// <summary>
/// A run of an experiment's table: its view and the key settings read from its config. Rows are equal when they are the
/// same run, whatever their progress: a live table refreshes its rows every few seconds and must keep them selected
/// (MudTable drops a selected item it no longer finds among its items).
/// </summary>
public sealed record RunRow(RunView Run, RunKeyFacts Facts)
{
    public bool Equals(RunRow? other) => other is not null && other.Run.Id == Run.Id;

    public override int GetHashCode() => Run.Id.GetHashCode(StringComparison.Ordinal);
}
