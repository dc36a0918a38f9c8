using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Moe.Web.Tests.Browser;

/// <summary>The portal in a real browser (Debian's Chromium) against the real app: sign-in, live pages.</summary>
[Collection(WebAppCollection.Name)]
public sealed class PortalBrowserTests(WebApp app, Chromium chromium) : IClassFixture<Chromium>
{
    /// <summary>Opens a portal page and waits until its circuit is live (input typed into the prerendered HTML is lost).</summary>
    internal static async Task GotoInteractiveAsync(IPage page, string url)
    {
        await page.GotoAsync(url);
        await Expect(page.GetByTestId("portal-interactive")).ToBeAttachedAsync();
    }

    /// <summary>Signs in through the /login form as a person does and waits for the dashboard.</summary>
    internal static async Task SignInAsync(IPage page, string user, string password)
    {
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login\\?return_url="));
        await page.FillAsync("#user_name", user);
        await page.FillAsync("#password", password);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.GetByTestId("user-name")).ToHaveTextAsync(user);
    }

    [Fact]
    public Task Signing_in_shows_the_live_dashboard_with_the_worker() => chromium.RunAsync(app.BaseAddress, async page =>
    {
        await page.GotoAsync("/login");
        await page.FillAsync("#user_name", "admin");
        await page.FillAsync("#password", "wrong-password");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Wrong user name or password");

        await SignInAsync(page, "admin", WebApp.AdminPassword);
        // The workers panel comes from the scheduler: the app's own CPU worker is there.
        await Expect(page.GetByTestId("workers")).ToContainTextAsync("web-tests");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login"));
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login\\?return_url="));
    });

    [Fact]
    public Task A_tiny_run_launched_from_the_form_is_watched_live_downloaded_and_compared() => chromium.RunAsync(app.BaseAddress, async page =>
    {
        var project = await app.NewProjectAsync("browser");
        var experiment = await app.NewExperimentAsync(project, "browser");
        var dataset = await app.SharedDatasetAsync();
        await SignInAsync(page, "admin", WebApp.AdminPassword);

        // The launch form, preselected experiment and the tiny-cpu preset; the changes make it fit the test corpus.
        await GotoInteractiveAsync(page, $"/launch?experiment_id={experiment}");
        await Expect(page.GetByTestId("launch-submit")).ToBeEnabledAsync();
        await page.GetByTestId("launch-name").FillAsync("browser-tiny");
        await page.GetByTestId("launch-name").PressAsync("Tab");
        var changes = new Dictionary<string, string>
        {
            ["model.vocab_size"] = "300", ["data.datasets[0].path"] = dataset, ["training.steps"] = "16", ["training.batch_size"] = "4",
            ["training.seq_len"] = "32", ["training.warmup_steps"] = "2", ["training.eval_every"] = "4", ["training.checkpoint_every"] = "8",
        };
        foreach (var (path, value) in changes)
        {
            var input = page.GetByTestId($"field-{path}");
            if (!await input.IsVisibleAsync()) await page.GetByTestId("launch-group-schedule").ClickAsync(); // a collapsed group
            await input.FillAsync(value);
            await input.PressAsync("Tab"); // MudBlazor fields commit on change
        }
        await page.GetByTestId("launch-submit").ClickAsync();

        // The run page, live: the loss chart receives points and the heatmap cells while it trains.
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/runs/browser-tiny"), new() { Timeout = 60_000 });
        var runId = page.Url[(page.Url.LastIndexOf('/') + 1)..];
        await Expect(page.GetByTestId("run-header")).ToContainTextAsync("browser-tiny");
        await ExpectAttributeAboveZeroAsync(page.GetByTestId("chart-loss"), "data-points");
        await ExpectAttributeAboveZeroAsync(page.GetByTestId("expert-heatmap"), "data-cells");
        await Expect(page.GetByTestId("run-header")).ToHaveAttributeAsync("data-status", "succeeded", new() { Timeout = 180_000 });

        // A checkpoint downloads as a zip holding its manifest.
        var link = page.GetByTestId("download-link").Last;
        await Expect(link).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var download = await page.RunAndWaitForDownloadAsync(() => link.ClickAsync());
        var zipPath = Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.zip");
        await download.SaveAsAsync(zipPath);
        using (var zip = System.IO.Compression.ZipFile.OpenRead(zipPath))
            Assert.Contains(zip.Entries, e => e.FullName.EndsWith("/manifest.json", StringComparison.Ordinal));
        File.Delete(zipPath);

        // The compare page shows the run's row and its loss curve.
        await page.GotoAsync($"/compare?runs={runId}");
        await Expect(page.GetByTestId($"compare-row-{runId}")).ToBeVisibleAsync();
        await ExpectAttributeAboveZeroAsync(page.GetByTestId("chart-compare-loss"), "data-points");
    });

    /// <summary>Waits (up to two minutes: a 2-core machine trains while the page polls) until the attribute is a positive number.</summary>
    static async Task ExpectAttributeAboveZeroAsync(ILocator locator, string attribute)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        string? value = null;
        while (DateTime.UtcNow < deadline)
        {
            value = await locator.First.GetAttributeAsync(attribute);
            if (int.TryParse(value, out var n) && n > 0) return;
            await Task.Delay(500);
        }
        Assert.Fail($"{attribute} of {locator} stayed '{value}'");
    }
}
