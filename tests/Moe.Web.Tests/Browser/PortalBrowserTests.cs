using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Moe.Web.Tests.Browser;

/// <summary>The portal in a real browser (Debian's Chromium) against the real app: sign-in, live pages.</summary>
[Collection(WebAppCollection.Name)]
public sealed class PortalBrowserTests(WebApp app, Chromium chromium) : IClassFixture<Chromium>
{
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
}
