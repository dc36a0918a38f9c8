using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Moe.Platform.Grains.Hosting;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Security;

/// <summary>
/// On the first start (no user yet) creates the platform admin: the configured password, or a generated one that is
/// printed once and written to <c>admin-password.txt</c> in the data directory (owner-only), so `./platform run` can
/// show it again. Runs after the database migration (hosted services start in registration order).
/// </summary>
public sealed class AdminBootstrap(
    IDbContextFactory<PlatformDb> databases, UserAccounts accounts, IOptions<WebOptions> options, PlatformSiloOptions platform,
    ILogger<AdminBootstrap> logger) : IHostedService
{
    public const string PasswordFile = "admin-password.txt";

    /// <summary>Where a generated admin password is kept (the data directory).</summary>
    public static string PasswordPath(PlatformSiloOptions platform) => Path.Combine(Path.GetFullPath(platform.DataDirectory), PasswordFile);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
            if (await db.Users.AnyAsync(cancellationToken)) return;
        var web = options.Value;
        bool generated = string.IsNullOrEmpty(web.AdminPassword);
        var password = generated ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(15)).Replace('+', 'x').Replace('/', 'y') : web.AdminPassword!;
        var admin = await accounts.CreateAsync(web.AdminUser, password, "Administrator", isAdmin: true, cancellationToken);
        if (!generated)
        {
            logger.LogInformation("Created the platform admin '{User}' with the configured password", admin.UserName);
            return;
        }
        var file = PasswordPath(platform);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.Delete(file); // the owner-only mode applies when the file is created
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var writer = new StreamWriter(file, fileOptions)) await writer.WriteAsync($"{admin.UserName}\n{password}\n");
        // Printed on the console once, not logged: logs are shipped and kept.
        Console.WriteLine($"[moe-web] created the platform admin: user '{admin.UserName}', password '{password}' (also in {file})");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
