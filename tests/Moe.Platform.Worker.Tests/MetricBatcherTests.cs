using Moe.Platform.Metrics;
using System.Text.Json.Nodes;
using Moe.Platform.Storage.Metadata;
using Moe.Platform.Worker.Events;
using Moe.Platform.Worker.Metrics;

namespace Moe.Platform.Worker.Tests;

public sealed class MetricBatcherTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static TrainingStep Step(long step) => (TrainingStep)TrainerEventParser.Parse(
        $$"""{"type":"step","step":{{step}},"tokens":64,"loss":5.5,"lm_loss":5.4,"aux_loss":0.1,"mtp_loss":null,"aux":{"switch":1.5,"z":3},"lr":0.01,"grad_norm":null,"tokens_per_s":100,"router":[{"layer":1,"load":[0.5,0.25,0.25],"max_over_mean":1.5,"drop_fraction":0.1,"entropy":1.0}]}""", 1);

    private static EvalCompleted Eval(long step) => new(step, 2.0, Math.Exp(2.0), new JsonObject());

    [Fact]
    public void AStepBecomesNamedPoints()
    {
        var points = TrainerMetricPoints.From(Step(7)).ToDictionary(p => p.Name, p => p.Value);
        Assert.All(TrainerMetricPoints.From(Step(7)), p => Assert.Equal(7, p.Step));
        Assert.Equal(["aux.switch", "aux.z", "aux_loss", "grad_norm", "lm_loss", "loss", "lr", "router.1.drop_fraction", "router.1.entropy",
            "router.1.load.0", "router.1.load.1", "router.1.load.2", "router.1.max_over_mean", "tokens_per_s"], points.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.25, points["router.1.load.2"]);
        Assert.True(double.IsNaN(points["grad_norm"])); // null in the record: NaN, as MetricStore expects
        Assert.Equal([new MetricPoint(3, "val_loss", 2.0), new MetricPoint(3, "val_ppl", Math.Exp(2.0))], TrainerMetricPoints.From(Eval(3)));
        Assert.Empty(TrainerMetricPoints.From(new MalformedLine(1, "x", "y")));
    }

    [Fact]
    public void The_aux_loss_free_bias_of_each_expert_becomes_a_curve_when_the_trainer_reports_it()
    {
        var step = (TrainingStep)TrainerEventParser.Parse(
            """{"type":"step","step":9,"tokens":64,"loss":5.5,"lm_loss":5.4,"aux_loss":0.1,"mtp_loss":null,"aux":{},"lr":0.01,"grad_norm":1,"tokens_per_s":100,"router":[{"layer":2,"load":[0.75,0.25],"max_over_mean":1.5,"drop_fraction":0,"entropy":0.5,"bias":[-0.002,0.002]}]}""", 1);
        var points = TrainerMetricPoints.From(step).ToDictionary(p => p.Name, p => p.Value);
        Assert.Equal((-0.002, 0.002), (points["router.2.bias.0"], points["router.2.bias.1"]));
        Assert.DoesNotContain(TrainerMetricPoints.From(Step(7)), p => p.Name.Contains(".bias."));
    }

    [Fact]
    public async Task FlushesWhenTheBatchIsFullAndWhenDisposed()
    {
        var batches = new List<IReadOnlyList<MetricPoint>>();
        await using (var batcher = new MetricBatcher((b, _) => { batches.Add(b); return Task.CompletedTask; }, maxPoints: 30, maxDelay: TimeSpan.FromHours(1)))
        {
            await batcher.AddAsync(Step(1), Ct); // 14 points
            await batcher.AddAsync(Step(2), Ct); // 28
            Assert.Empty(batches);
            await batcher.AddAsync(Eval(2), Ct); // 30: full
            Assert.Equal(30, Assert.Single(batches).Count);
            await batcher.AddAsync(Step(3), Ct);
            Assert.Equal(14, batcher.PendingCount);
        }
        Assert.Equal([30, 14], batches.Select(b => b.Count));
        Assert.Equal(3, batches[1][0].Step);
    }

    [Fact]
    public async Task FlushesAPartialBatchAfterTheDelay()
    {
        var flushed = new TaskCompletionSource<IReadOnlyList<MetricPoint>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var batcher = new MetricBatcher((b, _) => { flushed.TrySetResult(b); return Task.CompletedTask; },
            maxPoints: 1000, maxDelay: TimeSpan.FromMilliseconds(100));
        await batcher.AddAsync(Eval(10), Ct);
        var batch = await flushed.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(["val_loss", "val_ppl"], batch.Select(p => p.Name));
        Assert.Equal(0, batcher.PendingCount);
    }

    [Fact]
    public async Task AFailedFlushKeepsItsPointsForTheNextOne()
    {
        var fail = true;
        var stored = new List<MetricPoint>();
        await using var batcher = new MetricBatcher((b, _) =>
        {
            if (fail) throw new IOException("database unavailable");
            stored.AddRange(b);
            return Task.CompletedTask;
        }, maxPoints: 1000, maxDelay: TimeSpan.FromHours(1));
        await batcher.AddAsync(Eval(1), Ct);
        await Assert.ThrowsAsync<IOException>(() => batcher.FlushAsync(Ct));
        await batcher.AddAsync(Eval(2), Ct);
        Assert.Equal(4, batcher.PendingCount);
        fail = false;
        await batcher.FlushAsync(Ct);
        Assert.Equal([1L, 1, 2, 2], stored.Select(p => p.Step));
    }
}
