using Microsoft.Playwright;

namespace Moe.Web.Tests.Browser;

/// <summary>
/// Debian's Chromium driven by Playwright, shared by the browser tests (one browser with a fresh empty profile, a new
/// context per test so cookies never leak between them). Playwright's own browser download cannot work here: it launches /usr/bin/chromium
/// (./platform installs it) with the flags a closed network needs. Set MOE_BROWSER to use another Chromium.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public static string ExecutablePath => Environment.GetEnvironmentVariable("MOE_BROWSER") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Where screenshots of failed browser tests go (MOE_TEST_ARTIFACTS, or screenshots/ beside the tests).</summary>
    public static string ArtifactsDirectory => Environment.GetEnvironmentVariable("MOE_TEST_ARTIFACTS") is { Length: > 0 } dir
        ? Path.Combine(dir, "screenshots") : Path.Combine(AppContext.BaseDirectory, "screenshots");

    IPlaywright? _playwright;
    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"no Chromium at {ExecutablePath}: ./platform setup installs Debian's chromium (or set MOE_BROWSER)");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // No sandbox as root; no background networking (this machine refuses it, many connections at a time).
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>
    /// Runs <paramref name="test"/> in a new context and page at <paramref name="baseUrl"/>; on failure saves a full-page
    /// screenshot and the page's HTML named after the test, and says where in the failure.
    /// </summary>
    public async Task RunAsync(Uri baseUrl, Func<IPage, Task> test)
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString().TrimEnd('/'), ViewportSize = new ViewportSize { Width = 1400, Height = 1000 }, AcceptDownloads = true,
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, message) => { if (message.Type is "error" or "warning") lock (console) console.Add($"{message.Type}: {message.Text}"); };
        try
        {
            await test(page);
        }
        catch (Exception e)
        {
            var name = string.Join("_", (TestContext.Current.Test?.TestDisplayName ?? "browser-test").Split(Path.GetInvalidFileNameChars()));
            Directory.CreateDirectory(ArtifactsDirectory);
            var png = Path.Combine(ArtifactsDirectory, name[..Math.Min(name.Length, 120)] + ".png");
            try
            {
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = png, FullPage = true });
                await File.WriteAllTextAsync(Path.ChangeExtension(png, ".html"), await page.ContentAsync());
            }
            catch (PlaywrightException) { png = "(no screenshot: the page is gone)"; }
            string logs;
            lock (console) logs = string.Join("\n", console.TakeLast(20));
            throw new Exception($"{e.Message}\nat {page.Url}; screenshot: {png}\nbrowser console:\n{logs}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
