using Plotly.Blazor.LayoutLib;
using PlotLayout = Plotly.Blazor.Layout;

namespace Moe.Web.Components.Charts;

/// <summary>The portal's chart layouts: compact margins, steps on x, the legend under the plot.</summary>
public static class ChartLayouts
{
    public static PlotLayout Lines(string title, string? yTitle, bool logY, int height, PlotLayout? keep = null)
    {
        var layout = keep ?? new PlotLayout();
        layout.Title = new Title { Text = title, Font = new Plotly.Blazor.LayoutLib.TitleLib.Font { Size = 14 } };
        layout.Height = height;
        layout.Margin = new Margin { L = 55, R = 15, T = 35, B = 40 };
        layout.XAxis = [new XAxis { Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = "step" } }];
        layout.YAxis = [new YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = yTitle ?? "" }, Type = logY ? Plotly.Blazor.LayoutLib.YAxisLib.TypeEnum.Log : Plotly.Blazor.LayoutLib.YAxisLib.TypeEnum.Linear }];
        layout.ShowLegend = true;
        layout.Legend = [new Legend { Orientation = Plotly.Blazor.LayoutLib.LegendLib.OrientationEnum.H }];
        layout.UiRevision = "keep"; // Plotly.react keeps the user's zoom and hidden traces across refreshes
        return layout;
    }
}
