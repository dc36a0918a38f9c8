using Moe.Platform.Experiments;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Runs;

namespace Moe.Platform.Grains.Experiments;

/// <summary>
/// One experiment. Its row in <c>experiments</c> follows its state (<see cref="ExperimentProjection"/>), whose unique
/// index also guards names: a taken name fails the write and nothing is stored.
/// </summary>
public sealed class ExperimentGrain(
    [PersistentState("experiment", PlatformStorage.Name)] IPersistentState<ExperimentState> state, TimeProvider time)
    : Grain, IExperimentGrain
{
    private string ExperimentId => this.GetPrimaryKeyString();

    public async Task<ExperimentSnapshot> CreateAsync(ExperimentSpec spec)
    {
        PlatformIds.Require(ExperimentId, "experiment_id");
        ArgumentNullException.ThrowIfNull(spec);
        spec = spec.Validated();
        if (state.State.Name is not null) throw PlatformException.Conflict("experiment_id", $"experiment '{ExperimentId}' already exists");
        await SaveAsync(new ExperimentState
        {
            Name = spec.Name, Description = spec.Description, Project = spec.Project, CreatedAt = time.GetUtcNow(),
        });
        return Snapshot();
    }

    public Task<ExperimentSnapshot> GetAsync()
    {
        Existing();
        return Task.FromResult(Snapshot());
    }

    public async Task<ExperimentSnapshot> UpdateAsync(string? name, string? description)
    {
        var next = Existing().Copy();
        if (name is not null) next.Name = TextRules.Name(name, "name");
        if (description is not null) next.Description = TextRules.Description(description, "description");
        await SaveAsync(next);
        return Snapshot();
    }

    public async Task<ExperimentSnapshot> DeleteAsync()
    {
        var next = Existing().Copy();
        if (next.DeletedAt is not null) return Snapshot();
        // An admitted run whose creation then failed never ends: ask each run rather than trust the list.
        var stillActive = new List<string>();
        foreach (var runId in next.ActiveRunIds)
            if (await IsActiveAsync(runId)) stillActive.Add(runId);
        next.ActiveRunIds = stillActive;
        if (stillActive.Count > 0)
        {
            await SaveAsync(next);
            throw PlatformException.Conflict("experiment_id",
                $"experiment '{ExperimentId}' has {stillActive.Count} run(s) that have not ended ({string.Join(", ", stillActive.Take(5))}); cancel them first");
        }
        next.DeletedAt = time.GetUtcNow();
        await SaveAsync(next);
        return Snapshot();
    }

    public async Task AdmitRunAsync(string runId)
    {
        var current = Existing();
        if (current.DeletedAt is not null)
            throw PlatformException.Conflict("experiment_id", $"experiment '{ExperimentId}' is deleted and takes no new runs");
        if (current.ActiveRunIds.Contains(runId)) return;
        var next = current.Copy();
        next.ActiveRunIds.Add(runId);
        await SaveAsync(next);
    }

    public async Task RunEndedAsync(string runId)
    {
        if (state.State.Name is null || !state.State.ActiveRunIds.Contains(runId)) return;
        var next = state.State.Copy();
        next.ActiveRunIds.Remove(runId);
        await SaveAsync(next);
    }

    private async Task<bool> IsActiveAsync(string runId)
    {
        try
        {
            return !(await GrainFactory.GetRun(runId).GetAsync()).Status.IsTerminal();
        }
        catch (PlatformException)
        {
            return false; // never created
        }
    }

    private ExperimentState Existing() =>
        state.State.Name is not null
            ? state.State
            : throw PlatformException.NotFound("experiment_id", $"experiment '{ExperimentId}' not found");

    private Task SaveAsync(ExperimentState next) => state.WriteOrRevertAsync(next);

    private ExperimentSnapshot Snapshot()
    {
        var s = state.State;
        return new ExperimentSnapshot(ExperimentId, s.Name!, s.Description, s.Project, s.CreatedAt, s.DeletedAt, [.. s.ActiveRunIds]);
    }
}
