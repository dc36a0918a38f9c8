using Microsoft.AspNetCore.Components;
using Moe.Web.Portal;
using Moe.Web.Security;
using MudBlazor;

namespace Moe.Web.Components.Shared;

/// <summary>
/// A portal page: reads through <see cref="PortalSession"/> and shows refusals (bad input, 403, 404, 409) as the API's
/// messages in a snackbar. <see cref="RefreshSeconds"/> > 0 makes it live: <see cref="RefreshAsync"/> runs on a timer
/// until the page is left.
/// </summary>
public abstract class PortalPage : ComponentBase, IDisposable
{
    [Inject] protected PortalSession Session { get; set; } = default!;
    [Inject] protected ISnackbar Snackbar { get; set; } = default!;
    [Inject] protected NavigationManager Navigation { get; set; } = default!;
    [Inject] protected ILogger<PortalPage> Logger { get; set; } = default!;

    readonly CancellationTokenSource _leaving = new();
    protected CancellationToken Leaving => _leaving.Token;

    /// <summary>The last error a load produced (shown by the page instead of its content).</summary>
    protected string? LoadError { get; private set; }

    protected virtual int RefreshSeconds => 0;

    protected virtual Task RefreshAsync() => Task.CompletedTask;

    protected override async Task OnInitializedAsync()
    {
        await LoadAsync();
        if (RefreshSeconds > 0) _ = LoopAsync();
    }

    protected async Task LoadAsync()
    {
        try
        {
            await RefreshAsync();
            LoadError = null;
        }
        catch (Exception e) when (Explain(e) is { } message)
        {
            LoadError = message;
        }
    }

    /// <summary>Runs a command; a refusal becomes an error snackbar and false.</summary>
    protected async Task<bool> TryAsync(Func<Task> action, string? success = null)
    {
        try
        {
            await action();
            if (success is not null) Snackbar.Add(success, Severity.Success);
            return true;
        }
        catch (Exception e) when (Explain(e) is { } message)
        {
            Snackbar.Add(message, Severity.Error);
            return false;
        }
    }

    string? Explain(Exception e)
    {
        switch (e)
        {
            case PlatformException p: return p.Message; // "field: problem"
            case AccessDeniedException: return "You do not have the role this needs in the project.";
            case OperationCanceledException when Leaving.IsCancellationRequested: return null;
            default:
                Logger.LogError(e, "Portal page {Page} failed", GetType().Name);
                return "Something went wrong on the server; the error is in its log.";
        }
    }

    async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(RefreshSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(Leaving))
                await InvokeAsync(async () => { await LoadAsync(); StateHasChanged(); });
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { } // the circuit went away mid-refresh
    }

    public void Dispose()
    {
        _leaving.Cancel();
        _leaving.Dispose();
        GC.SuppressFinalize(this);
    }
}
