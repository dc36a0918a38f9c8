using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Moe.Web.Security;

namespace Moe.Web.Portal;

/// <summary>
/// A portal circuit keeps the user it was opened with for hours; every minute this checks the account is still enabled
/// and otherwise signs the circuit out (the cookie itself is rejected on the next request).
/// </summary>
public sealed class PortalAuthenticationState(ILoggerFactory loggers, UserAccounts accounts) : RevalidatingServerAuthenticationStateProvider(loggers)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromMinutes(1);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState state, CancellationToken cancellationToken) =>
        state.User.Identity?.IsAuthenticated == true && await accounts.IsEnabledAsync(state.User.UserId(), cancellationToken);
}
