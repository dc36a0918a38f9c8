using MudBlazor;

namespace Moe.Web.Components.Layout;

/// <summary>The portal's colours: one place, shared by the layout and the charts.</summary>
public static class PortalTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight { Primary = "#3949ab", Secondary = "#00897b", AppbarBackground = "#283593" },
    };

    /// <summary>Trace colours for overlaid runs (colour-blind-safe Tableau 10).</summary>
    public static readonly string[] Series =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
}
