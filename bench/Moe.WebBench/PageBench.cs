using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Moe.PlatformBench;

namespace Moe.WebBench;

/// <summary>Timings of one portal page: every repetition in ms, what the page held.</summary>
public sealed record PageResult(string Name, string Url, int Status, double[] Ms, double KiB, int? LossPoints, string? Note);

/// <summary>
/// The portal's render time with the long run: (a) on the server, GET of the page with the admin's cookie: the
/// prerendered HTML (the page's first load, every query it makes included) timed to its last byte; (b) optionally in
/// Debian's Chromium through Playwright: from navigation to the loss chart holding its points (the prerendered DOM)
/// and to Plotly having drawn the line (after the SignalR circuit started and the page rendered interactively).
/// </summary>
public static partial class PageBench
{
    public const string LossChart = "[data-testid=\"chart-loss\"]";

    public static async Task<List<PageResult>> ServerAsync(HttpClient cookieClient, string runId, int steps, int reps)
    {
        (string Name, string Url)[] pages = [("dashboard", "/"), ($"run page, the {steps:N0}-step run", $"/runs/{runId}")];
        var times = pages.ToDictionary(p => p.Url, _ => new List<double>());
        var last = new Dictionary<string, (int Status, string Html)>();
        for (int rep = -3; rep < reps; rep++) // 3 warm-up rounds, then interleaved repetitions
            foreach (var (_, url) in pages)
            {
                long start = Stopwatch.GetTimestamp();
                using var response = await cookieClient.GetAsync(url);
                string html = await response.Content.ReadAsStringAsync();
                double ms = Stats.Ms(start);
                if (rep >= 0) times[url].Add(ms);
                last[url] = ((int)response.StatusCode, html);
            }
        return [.. pages.Select(p =>
        {
            var (status, html) = last[p.Url];
            var points = LossPoints().Match(html);
            string? note = status != 200 ? $"HTTP {status}: the run page is not there yet (TODO: it measures once Components/Pages/RunDetail.razor serves /runs/{{id}})"
                : p.Url != "/" && !points.Success ? "no loss chart in the prerendered HTML" : null;
            return new PageResult(p.Name, p.Url, status, [.. times[p.Url]], System.Text.Encoding.UTF8.GetByteCount(html) / 1024.0,
                points.Success ? int.Parse(points.Groups[1].Value) : null, note);
        })];
    }

    [GeneratedRegex("data-testid=\"chart-loss\"[^>]*data-points=\"(\\d+)\"")]
    private static partial Regex LossPoints();

    public static void AddServerTable(Report report, IReadOnlyList<(string Backend, List<PageResult> Pages)> runs, bool labelBackend)
    {
        var table = new ResultTable("Portal pages, server-side render (GET with the admin's cookie, time to last byte)",
            "page", "HTTP", "HTML KiB", "loss chart points", "reps", "p50 ms", "p90 ms", "p99 ms", "max ms");
        foreach (var (backend, pages) in runs)
            foreach (var p in pages)
                table.Row(labelBackend ? $"{p.Name}, {backend}" : p.Name, p.Status.ToString(), Stats.F(p.KiB), p.LossPoints?.ToString() ?? "-",
                    p.Ms.Length.ToString(), Stats.F(Stats.Percentile(p.Ms, 50), 2), Stats.F(Stats.Percentile(p.Ms, 90), 2),
                    Stats.F(Stats.Percentile(p.Ms, 99), 2), Stats.F(p.Ms.DefaultIfEmpty(double.NaN).Max(), 2));
        table.Note("Interactive server pages are prerendered: the HTML already holds the page's data (the run page reads the run, its " +
                   "metric names, every line curve at 500 points and the expert loads at 200, checkpoints, transitions and the log tail). " +
                   "One request at a time, after 3 warm-up rounds; dashboard and run page interleaved.");
        foreach (var note in runs.SelectMany(r => r.Pages).Select(p => p.Note).OfType<string>().Distinct()) table.Note("Note: " + note);
        report.Add(table);
    }

    /// <summary>Timings in Chromium: the first (cold) visit, then warm visits in the same browser context.</summary>
    public sealed record BrowserResult(double ColdPointsMs, double ColdDrawnMs, double[] PointsMs, double[] DrawnMs, int Points, string Version);

    public static async Task<BrowserResult> BrowserAsync(Uri baseAddress, CookieContainer cookies, string runId, int reps)
    {
        string chromium = Environment.GetEnvironmentVariable("MOE_BROWSER") is { Length: > 0 } path ? path : "/usr/bin/chromium";
        if (!File.Exists(chromium)) throw new InvalidOperationException($"no Chromium at {chromium} (./platform setup installs Debian's; or set MOE_BROWSER)");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString().TrimEnd('/'), ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        context.SetDefaultTimeout(60_000);
        await context.AddCookiesAsync(cookies.GetCookies(baseAddress).Select(c => new Microsoft.Playwright.Cookie
        {
            Name = c.Name, Value = c.Value, Url = baseAddress.ToString().TrimEnd('/'), HttpOnly = c.HttpOnly,
        }));

        async Task<(double Points, double Drawn, int Count)> VisitAsync()
        {
            var page = await context.NewPageAsync();
            try
            {
                long start = Stopwatch.GetTimestamp();
                await page.GotoAsync($"/runs/{runId}", new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
                var chart = page.Locator($"{LossChart}:not([data-points=\"0\"])");
                await chart.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
                double points = Stats.Ms(start);
                // Plotly draws each scatter trace as path.js-line once the circuit has rendered the chart interactively.
                await page.Locator($"{LossChart} path.js-line").First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
                double drawn = Stats.Ms(start);
                int count = int.Parse(await chart.GetAttributeAsync("data-points") ?? "0");
                return (points, drawn, count);
            }
            finally
            {
                await page.CloseAsync();
            }
        }

        var cold = await VisitAsync();
        for (int i = 0; i < 2; i++) await VisitAsync();
        var warm = new List<(double Points, double Drawn, int Count)>();
        for (int i = 0; i < reps; i++) warm.Add(await VisitAsync());
        return new BrowserResult(cold.Points, cold.Drawn, [.. warm.Select(w => w.Points)], [.. warm.Select(w => w.Drawn)], cold.Count, browser.Version);
    }

    public static void AddBrowserTable(Report report, IReadOnlyList<(string Backend, BrowserResult Result)> runs, int steps, bool labelBackend)
    {
        var table = new ResultTable($"Run page in Chromium (headless, Playwright), the {steps:N0}-step run",
            "measure", "first visit ms", "p50 ms", "p90 ms", "max ms");
        foreach (var (backend, r) in runs)
        {
            string suffix = labelBackend ? $", {backend}" : "";
            table.Row($"navigation -> loss chart holds its {r.Points} points (DOM){suffix}", Stats.F(r.ColdPointsMs), Stats.F(Stats.Percentile(r.PointsMs, 50)),
                Stats.F(Stats.Percentile(r.PointsMs, 90)), Stats.F(r.PointsMs.DefaultIfEmpty(double.NaN).Max()));
            table.Row($"navigation -> Plotly drew the loss line{suffix}", Stats.F(r.ColdDrawnMs), Stats.F(Stats.Percentile(r.DrawnMs, 50)),
                Stats.F(Stats.Percentile(r.DrawnMs, 90)), Stats.F(r.DrawnMs.DefaultIfEmpty(double.NaN).Max()));
        }
        table.Note($"Chromium {runs[0].Result.Version}, 1400x1000, a new tab per visit in one context: the first visit loads the static assets " +
                   $"(MudBlazor, blazor.web.js, Plotly), later ones have them cached; {runs[0].Result.PointsMs.Length} warm visits after 2 more warm-up visits. " +
                   "Points: the prerendered HTML's chart (server render + transfer + parse); drawn: the SignalR circuit started, the page " +
                   "rendered interactively (its queries again) and Plotly drew.");
        report.Add(table);
    }
}
