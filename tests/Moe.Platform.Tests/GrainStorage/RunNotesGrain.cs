using Orleans;
using Orleans.Runtime;

namespace Moe.Platform.Tests.GrainStorage;

public interface IRunNotesGrain : IGrainWithStringKey
{
    Task AddAsync(string note);

    /// <summary>The notes, and which activation answered (to tell that a deactivation happened).</summary>
    Task<(List<string> Notes, Guid Activation)> GetAsync();
}

/// <summary>A tiny grain whose state goes through the silo's default storage: the EF Core provider under test.</summary>
public sealed class RunNotesGrain([PersistentState("notes")] IPersistentState<RunNotes> notes) : Grain, IRunNotesGrain
{
    readonly Guid _activation = Guid.NewGuid();

    public async Task AddAsync(string note)
    {
        notes.State.Notes.Add(note);
        await notes.WriteStateAsync();
    }

    public Task<(List<string> Notes, Guid Activation)> GetAsync() => Task.FromResult((notes.State.Notes, _activation));
}

[GenerateSerializer]
public sealed class RunNotes
{
    [Id(0)] public List<string> Notes { get; set; } = [];
}
