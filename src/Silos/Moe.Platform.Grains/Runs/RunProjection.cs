using Microsoft.EntityFrameworkCore;
using Moe.Platform.Grains.Storage;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Metadata;
using RunRow = Moe.Platform.Storage.Metadata.Run;
using TransitionRow = Moe.Platform.Storage.Metadata.RunTransition;

namespace Moe.Platform.Grains.Runs;

/// <summary>The <c>runs</c> row of a run grain and its history in <c>run_transitions</c> (appended, never rewritten).</summary>
public sealed class RunProjection : GrainStateProjection<RunState>
{
    protected override async Task ApplyAsync(PlatformDb db, string grainKey, RunState state, CancellationToken cancellationToken)
    {
        if (state.Spec is not { } spec || state.Lifecycle is not { } lifecycle) return;
        var row = await UpsertAsync(db.Runs, grainKey,
            () => new RunRow { Id = grainKey, ExperimentId = spec.ExperimentId, Name = spec.Name, Status = "" }, cancellationToken);
        row.Name = spec.Name;
        row.Status = lifecycle.Status.ToString();
        row.Priority = spec.Priority;
        row.Gpus = spec.Resources.Gpus;
        row.GpuMemoryBytes = spec.Resources.GpuMemoryBytes;
        row.CpuSlots = spec.Resources.CpuSlots;
        row.MaxRetries = spec.MaxRetries;
        if (row.ConfigJson != spec.ConfigJson || row.TotalSteps is null) row.TotalSteps = spec.TotalSteps();
        row.ConfigJson = spec.ConfigJson;
        row.Attempt = lifecycle.Attempt;
        row.CreatedAt = state.SubmittedAt.UtcDateTime;
        row.WorkerId = state.WorkerId;
        row.LastStep = state.LastStep;
        row.BestValLoss = state.BestValLoss;

        var history = lifecycle.History;
        int stored = await db.RunTransitions.CountAsync(t => t.RunId == grainKey, cancellationToken);
        for (int i = stored; i < history.Length; i++)
        {
            var transition = history[i];
            db.RunTransitions.Add(new TransitionRow
            {
                RunId = grainKey, Sequence = i, From = transition.From.ToString(), To = transition.To.ToString(),
                At = transition.At.UtcDateTime, Reason = transition.Reason,
            });
            if (transition.To == RunStatus.Running) row.StartedAt ??= transition.At.UtcDateTime;
            if (transition.From.IsTerminal()) row.EndedAt = null; // resumed
            if (transition.To.IsTerminal()) row.EndedAt = transition.At.UtcDateTime;
        }
        await db.SaveChangesAsync(cancellationToken);
    }
}
