namespace Moe.Model.Training;

/// <summary>Linear warmup to the peak, then cosine decay to the minimum at the last step (GPT-3, Chinchilla).</summary>
public sealed record LearningRateSchedule(double Peak, double Min, int WarmupSteps, int TotalSteps)
{
    public static LearningRateSchedule From(TrainingConfig t) => new(t.Lr, t.MinLr, t.WarmupSteps, t.Steps);

    /// <summary>Learning rate of optimiser step <paramref name="step"/> (1-based: the first update is step 1).</summary>
    public double At(long step)
    {
        if (WarmupSteps > 0 && step <= WarmupSteps) return Peak * step / WarmupSteps;
        var decaySteps = TotalSteps - WarmupSteps;
        if (decaySteps <= 0) return Peak;
        var progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        return Min + 0.5 * (Peak - Min) * (1 + Math.Cos(Math.PI * progress));
    }
}
