using Bunit;
using Moe.Web.Apis;
using MudBlazor.Services;

namespace Moe.Web.Tests.Components;

/// <summary>
/// A bUnit context with the portal's component services (MudBlazor; Plotly and MudBlazor call into JS, which nothing
/// here checks). Disposed asynchronously: MudBlazor's services are only IAsyncDisposable, a synchronous Dispose throws.
/// </summary>
public abstract class PortalComponentTest : IAsyncDisposable
{
    protected BunitContext Context { get; } = new();

    protected PortalComponentTest()
    {
        Context.Services.AddMudServices();
        Context.JSInterop.Mode = JSRuntimeMode.Loose;
    }

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Context.DisposeAsync();
    }
}

/// <summary>Metric curves as the metrics query returns them, one point per step (not downsampled).</summary>
public static class Curves
{
    public static CurveView Of(string name, params (long Step, double? Value)[] points) =>
        new(name, false, points.Select(p => new CurvePoint(p.Step, p.Step, p.Value, p.Value, p.Value, 1)).ToList());
}
