using Moe.Platform.Worker.Jobs;

namespace Moe.Platform.Worker.Tests;

public sealed class BoundedLineTailTests
{
    [Fact]
    public void KeepsTheLastLinesAndShortensLongOnes()
    {
        var tail = new BoundedLineTail(maxLines: 3, maxLineLength: 10);
        foreach (var i in Enumerable.Range(1, 5)) tail.Add($"line {i}");
        tail.Add(new string('x', 50));
        Assert.Equal(["line 4", "line 5", "xxxxxxxxxx [truncated]"], tail.Lines());
        Assert.Equal(3, tail.DroppedLines);
    }
}
