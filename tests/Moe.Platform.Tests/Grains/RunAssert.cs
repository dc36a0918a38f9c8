using Moe.Platform.Runs;

namespace Moe.Platform.Tests.Grains;

/// <summary>
/// Snapshot comparison by content: records holding an ImmutableArray compare it by reference, and a snapshot that
/// went through the wire or storage always has new arrays.
/// </summary>
internal static class RunAssert
{
    public static void Same(RunSnapshot expected, RunSnapshot actual)
    {
        Assert.Equal(expected with { History = [], Spec = expected.Spec with { RequiredTags = [] } },
            actual with { History = [], Spec = actual.Spec with { RequiredTags = [] } });
        Assert.Equal(expected.Spec.RequiredTagsOrEmpty, actual.Spec.RequiredTagsOrEmpty);
        Assert.Equal(expected.History, actual.History);
    }
}
