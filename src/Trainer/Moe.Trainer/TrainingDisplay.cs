using System.Globalization;
using Moe.Model.Training;
using Spectre.Console;

namespace Moe.Trainer;

/// <summary>
/// What a person sees while a run trains: a progress bar with loss and tokens/s in a terminal, plain lines (every few
/// seconds and at each evaluation) when output is redirected. Human lines go to stderr when stdout carries JSON metrics.
/// </summary>
public sealed class TrainingDisplay(TextWriter lines, bool interactive)
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    ProgressTask? task;
    DateTime lastLine = DateTime.MinValue;
    double smoothedLoss = double.NaN;

    public static TrainingDisplay For(bool jsonOnStdout)
    {
        var interactive = !jsonOnStdout && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        return new TrainingDisplay(jsonOnStdout ? Console.Error : Console.Out, interactive);
    }

    /// <summary>Runs <paramref name="train"/> under a live progress bar (terminal) or plainly.</summary>
    public T Show<T>(long startStep, long totalSteps, Func<T> train)
    {
        if (!interactive) return train();
        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                task = ctx.AddTask("starting", maxValue: totalSteps);
                task.Value = startStep;
                return train();
            });
    }

    public void OnStep(StepReport r)
    {
        smoothedLoss = double.IsNaN(smoothedLoss) ? r.Loss : 0.9 * smoothedLoss + 0.1 * r.Loss;
        if (task is not null)
        {
            task.Value = r.Step;
            task.Description = string.Create(Inv, $"step {r.Step}/{r.TotalSteps}  loss {smoothedLoss:F3}  lr {r.Lr:0.0e0}  {r.TokensPerSecond:F0} tok/s");
            return;
        }
        if (DateTime.UtcNow - lastLine < TimeSpan.FromSeconds(5) && r.Step != r.TotalSteps && r.Step != 1) return;
        lastLine = DateTime.UtcNow;
        Line(string.Create(Inv, $"step {r.Step}/{r.TotalSteps}  loss {r.Loss:F4} (avg {smoothedLoss:F4})  lm {r.LmLoss:F4}  aux {r.AuxLoss:F4}  lr {r.Lr:0.00e0}  grad {r.GradNorm:F3}  {r.TokensPerSecond:F0} tok/s"));
    }

    public void OnEval(EvalReport e) =>
        Line(string.Create(Inv, $"eval step {e.Step}: validation loss {e.ValLoss:F4}  perplexity {e.Perplexity:F1}  (best {e.BestValLoss:F4})"));

    public void Line(string text)
    {
        if (task is not null) AnsiConsole.MarkupLine(Markup.Escape(text));
        else { lines.WriteLine(text); lines.Flush(); }
    }
}
