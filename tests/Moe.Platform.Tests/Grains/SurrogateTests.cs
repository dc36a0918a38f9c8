using Microsoft.Extensions.DependencyInjection;
using Moe.Platform.Runs;
using Moe.Platform.Scheduling;
using Orleans.Serialization;

namespace Moe.Platform.Tests.Grains;

/// <summary>Core's types through Orleans' serializer (the surrogates in Moe.Platform.Abstractions), without a cluster.</summary>
public sealed class SurrogateTests
{
    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(RunSpec).Assembly))
        .BuildServiceProvider().GetRequiredService<Serializer>();

    private static T RoundTrip<T>(T value) => Serializer.Deserialize<T>(Serializer.SerializeToArray(value))!;

    [Fact]
    public void An_illegal_transition_keeps_its_type_statuses_and_detail()
    {
        Exception error = new IllegalTransitionException(RunStatus.Running, RunStatus.Retrying, "all 2 retries are used");

        var back = Assert.IsType<IllegalTransitionException>(RoundTrip(error));

        Assert.Equal((RunStatus.Running, RunStatus.Retrying), (back.From, back.To));
        Assert.Equal(error.Message, back.Message);
    }

    [Fact]
    public void A_platform_exception_keeps_its_field_and_problem()
    {
        var back = Assert.IsType<PlatformException>(RoundTrip<Exception>(new PlatformException("run_id", "is malformed")));
        Assert.Equal(("run_id", "is malformed", PlatformErrorKind.Invalid), (back.Field, back.Problem, back.Kind));
    }

    [Theory]
    [InlineData(PlatformErrorKind.NotFound)]
    [InlineData(PlatformErrorKind.Conflict)]
    public void A_platform_exception_keeps_its_kind_so_the_api_answers_404_or_409(PlatformErrorKind kind)
    {
        var back = RoundTrip<Exception>(new PlatformException("run_id", "run 'x' not found", kind));
        Assert.Equal(kind, Assert.IsType<PlatformException>(back).Kind);
        Assert.Equal(PlatformErrorKind.Conflict,
            Assert.IsType<IllegalTransitionException>(RoundTrip<Exception>(new IllegalTransitionException(RunStatus.Succeeded, RunStatus.Queued))).Kind);
    }

    [Fact]
    public void A_plan_keeps_every_kind_of_decision()
    {
        var plan = new SchedulingPlan(
            [new Place("a", "w1", [0, 2], 4), new Preempt("b", "a", "w1"), new Unschedulable("c", "too big")]);

        Assert.Equal(plan, RoundTrip(plan));
    }

    [Fact]
    public void Default_arrays_arrive_empty()
    {
        var worker = RoundTrip(new WorkerCapacity("w1", default, 4));
        Assert.Empty(worker.Gpus);
        Assert.Empty(worker.Tags);
        Assert.Empty(RoundTrip(new QueuedJob("r", "e", 0, DateTimeOffset.UnixEpoch, new(0, 0, 1))).RequiredTags);
    }
}
