using Moe.Platform.Worker.Events;

namespace Moe.Platform.Worker.Tests;

public sealed class TrainerEventParserTests
{
    private const string StepLine = """{"type":"step","step":120,"tokens":245760,"loss":5.0412,"lm_loss":4.9823,"aux_loss":0.0589,"mtp_loss":null,"aux":{"switch":1.0213,"importance":0.0187,"z":8.52,"group":0},"lr":0.00296,"grad_norm":0.4121,"tokens_per_s":9120.4,"step_s":0.2245,"elapsed_s":27.6,"phase":0,"router":[{"layer":0,"load":[0.13,0.12,0.12,0.13,0.12,0.12,0.13,0.13],"max_over_mean":1.04,"drop_fraction":0.012,"entropy":1.93,"capacity":640,"bias":null}]}""";

    [Fact]
    public void ParsesEachRecordType()
    {
        var start = Assert.IsType<TrainingStarted>(TrainerEventParser.Parse(
            """{"type":"start","step":20,"run":"r","kind":"pretrain","device":"cpu","dtype":"Float32","total_steps":30,"tokens_per_step":64,"params_total":1,"params_active":1,"resumed_from":"/runs/r/checkpoints/step-00000020","time":"x"}""", 1));
        Assert.Equal((20L, "r", "cpu", "Float32", 30L, 64L), (start.Step, start.Run, start.Device, start.Dtype, start.TotalSteps, start.TokensPerStep));
        Assert.Equal("/runs/r/checkpoints/step-00000020", start.ResumedFrom);

        var step = Assert.IsType<TrainingStep>(TrainerEventParser.Parse(StepLine, 2));
        Assert.Equal((120L, 245760L, 5.0412, 4.9823, 0.0589, 0.00296, 0.4121, 9120.4),
            (step.Step, step.Tokens, step.Loss, step.LmLoss, step.AuxLoss, step.Lr, step.GradNorm, step.TokensPerSecond));
        Assert.Null(step.MtpLoss);
        var layer = Assert.Single(step.Router);
        Assert.Equal((0, 8, 1.04, 0.012, 1.93), (layer.Layer, layer.Load.Count, layer.MaxOverMean, layer.DropFraction, layer.Entropy));
        Assert.Equal(640, (int)step.Raw["router"]![0]!["capacity"]!);

        var eval = Assert.IsType<EvalCompleted>(TrainerEventParser.Parse("""{"type":"eval","step":10,"tokens":640,"val_loss":3.3,"val_ppl":27.1,"windows":8,"mix":{"corpus":40}}""", 3));
        Assert.Equal((10L, 3.3, 27.1), (eval.Step, eval.ValLoss, eval.ValPpl));

        var checkpoint = Assert.IsType<CheckpointWritten>(TrainerEventParser.Parse("""{"type":"checkpoint","step":15,"path":"/r/checkpoints/step-00000015","val_loss":3.15,"best_step":15,"deleted_steps":[5,10]}""", 4));
        Assert.Equal((15L, "/r/checkpoints/step-00000015", 3.15, (long?)15), (checkpoint.Step, checkpoint.Path, checkpoint.ValLoss, checkpoint.BestStep));
        Assert.Equal([5L, 10], checkpoint.DeletedSteps);

        var end = Assert.IsType<TrainingEnded>(TrainerEventParser.Parse("""{"type":"end","step":30,"reason":"cancelled","best_val_loss":2.9,"best_step":30,"elapsed_s":1.2}""", 5));
        Assert.Equal((30L, "cancelled", (double?)2.9, (long?)30), (end.Step, end.Reason, end.BestValLoss, end.BestStep));
    }

    [Fact]
    public void NonFiniteValuesWrittenAsNullReadAsNaN()
    {
        var step = Assert.IsType<TrainingStep>(TrainerEventParser.Parse(StepLine.Replace("\"loss\":5.0412", "\"loss\":null").Replace("\"grad_norm\":0.4121", "\"grad_norm\":null"), 1));
        Assert.True(double.IsNaN(step.Loss));
        Assert.True(double.IsNaN(step.GradNorm));
        var end = Assert.IsType<TrainingEnded>(TrainerEventParser.Parse("""{"type":"end","step":0,"reason":"cancelled","best_val_loss":null,"best_step":null}""", 1));
        Assert.Null(end.BestValLoss);
        Assert.Null(end.BestStep);
    }

    [Theory]
    [InlineData("Warning: TorchSharp native library message", "invalid JSON")]
    [InlineData("""{"type":"step","step":12,"tok""", "invalid JSON")] // torn by a kill -9
    [InlineData("[1,2,3]", "not a JSON object")]
    [InlineData("42", "not a JSON object")]
    [InlineData("""{"step":1}""", "field 'type' is missing")]
    [InlineData("""{"type":"step"}""", "field 'step' is missing")]
    [InlineData("""{"type":"step","step":"seven","tokens":1}""", "field 'step' must be an integer")]
    [InlineData("""{"type":7,"step":1}""", "field 'type' must be a string")]
    [InlineData("""{"type":"checkpoint","step":5,"val_loss":1}""", "field 'path' is missing")]
    [InlineData("""{"type":"checkpoint","step":5,"path":"p","deleted_steps":"5"}""", "field 'deleted_steps' must be an array")]
    [InlineData("""{"type":"step","step":1,"tokens":1,"loss":"high"}""", "field 'loss' must be a number")]
    [InlineData("""{"type":"step","step":1,"tokens":1,"router":[3]}""", "field 'router' must hold objects")]
    [InlineData("""{"type":"heartbeat","step":1}""", "unknown record type 'heartbeat'")]
    public void AMalformedLineBecomesADiagnosticNotAnException(string line, string problem)
    {
        var malformed = Assert.IsType<MalformedLine>(TrainerEventParser.Parse(line, 7));
        Assert.Equal(7, malformed.LineNumber);
        Assert.Equal(line, malformed.Text);
        Assert.Contains(problem, malformed.Problem);
    }
}
