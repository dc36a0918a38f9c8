using Bunit;
using Moe.Web.Apis;
using Moe.Web.Components.Charts;
using Moe.Web.Portal;
using MudBlazor;
using MudBlazor.Extensions;
using MudBlazor.Services;

namespace Moe.Web.Tests.Components;

/// <summary>The expert-load heatmap rendered without a browser: what it says it draws, and its layer selector.</summary>
public sealed class ExpertHeatmapTests : PortalComponentTest
{
    static CurveView Curve(string name, params (long Step, double? Value)[] points) => Curves.Of(name, points);

    // Layer 0: 3 experts × 2 steps, all filled (6 cells). Layer 1: 2 experts × 3 steps, expert 1 missing step 30 (5 of 6).
    static readonly List<ExpertLoadMatrix> Matrices = ExpertLoadMatrix.FromCurves(
    [
        Curve("router.0.load.0", (10, 0.5), (20, 0.4)),
        Curve("router.0.load.1", (10, 0.3), (20, 0.3)),
        Curve("router.0.load.2", (10, 0.2), (20, 0.3)),
        Curve("router.1.load.0", (10, 0.5), (20, 0.6), (30, 0.7)),
        Curve("router.1.load.1", (10, 0.5), (20, 0.4)),
    ]);

    static Dictionary<string, string> Shown(IRenderedComponent<ExpertHeatmap> heatmap)
    {
        var wrapper = heatmap.Find("[data-testid=expert-heatmap]");
        return new[] { "data-layer", "data-cells", "data-experts", "data-steps" }.ToDictionary(a => a, a => wrapper.GetAttribute(a) ?? "");
    }

    [Fact]
    public void One_layer_is_drawn_without_a_selector()
    {
        var heatmap = Context.Render<ExpertHeatmap>(p => p.Add(h => h.Matrices, [Matrices[0]]));

        Assert.Equal(new Dictionary<string, string> { ["data-layer"] = "0", ["data-cells"] = "6", ["data-experts"] = "3", ["data-steps"] = "2" }, Shown(heatmap));
        Assert.Empty(heatmap.FindComponents<MudSelect<int>>());
        Assert.Contains("layer 0", heatmap.Markup);
        Assert.Single(heatmap.FindComponents<Plotly.Blazor.PlotlyChart>());
    }

    [Fact]
    public async Task With_several_layers_a_selector_switches_the_layer_shown_and_reports_the_choice()
    {
        var chosen = new List<int>();
        var heatmap = Context.Render<ExpertHeatmap>(p => p
            .Add(h => h.Matrices, Matrices)
            .Add(h => h.LayerChanged, layer => chosen.Add(layer)));

        Assert.Equal("0", Shown(heatmap)["data-layer"]);
        Assert.Equal("6", Shown(heatmap)["data-cells"]);
        var select = heatmap.FindComponent<MudSelect<int>>();
        Assert.Equal(0, select.Instance.GetState(x => x.Value));

        await heatmap.InvokeAsync(() => select.Instance.ValueChanged.InvokeAsync(1));

        Assert.Equal(new Dictionary<string, string> { ["data-layer"] = "1", ["data-cells"] = "5", ["data-experts"] = "2", ["data-steps"] = "3" }, Shown(heatmap));
        Assert.Equal([1], chosen);
        Assert.Equal(1, heatmap.FindComponent<MudSelect<int>>().Instance.GetState(x => x.Value));
    }

    [Fact]
    public async Task A_layer_not_loaded_yet_shows_no_cells_until_its_matrix_comes()
    {
        // The page loads only the selected layer's curves: it lists every layer and passes the one matrix it has.
        var heatmap = Context.Render<ExpertHeatmap>(p => p.Add(h => h.Matrices, [Matrices[0]]).Add(h => h.Layers, [0, 1, 2]));
        Assert.Single(heatmap.FindComponents<MudSelect<int>>());
        Assert.Equal("6", Shown(heatmap)["data-cells"]);

        await heatmap.InvokeAsync(() => heatmap.FindComponent<MudSelect<int>>().Instance.ValueChanged.InvokeAsync(1));
        Assert.Equal("1", Shown(heatmap)["data-layer"]);
        Assert.Equal("0", Shown(heatmap)["data-cells"]);
        Assert.Contains("No expert loads recorded yet for this layer.", heatmap.Markup);
        Assert.Empty(heatmap.FindComponents<Plotly.Blazor.PlotlyChart>());

        // The parent loaded layer 1 and says so.
        heatmap.Render(p => p.Add(h => h.Matrices, [Matrices[1]]).Add(h => h.Layer, 1));
        Assert.Equal("1", Shown(heatmap)["data-layer"]);
        Assert.Equal("5", Shown(heatmap)["data-cells"]);
        Assert.Single(heatmap.FindComponents<Plotly.Blazor.PlotlyChart>());
    }

    [Fact]
    public void The_layer_parameter_picks_the_layer_shown_and_no_loads_at_all_says_so()
    {
        var second = Context.Render<ExpertHeatmap>(p => p.Add(h => h.Matrices, Matrices).Add(h => h.Layer, 1));
        Assert.Equal("1", Shown(second)["data-layer"]);
        Assert.Equal("5", Shown(second)["data-cells"]);

        var none = Context.Render<ExpertHeatmap>(p => p.Add(h => h.Matrices, []));
        Assert.Equal("0", Shown(none)["data-cells"]);
        Assert.Equal("", Shown(none)["data-layer"]);
        Assert.Contains("No expert loads are recorded for this run.", none.Markup);
    }
}
