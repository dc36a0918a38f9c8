using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Security;

namespace Moe.Web.Portal;

/// <summary>
/// How a portal page reads and acts: as the signed-in user of its circuit, through the same queries and commands as the
/// API. Each call gets its own short-lived database context (a circuit lives for hours; one context for all of it would
/// grow, go stale and break under concurrent renders).
/// </summary>
public sealed class PortalSession(IDbContextFactory<PlatformDb> databases, AuthenticationStateProvider authentication)
{
    public async Task<T> RunAsync<T>(Func<ProjectAccess, Task<T>> work)
    {
        var state = await authentication.GetAuthenticationStateAsync();
        await using var db = await databases.CreateDbContextAsync();
        return await work(new ProjectAccess(db, state.User));
    }

    public async Task RunAsync(Func<ProjectAccess, Task> work) => await RunAsync(async access => { await work(access); return true; });
}
