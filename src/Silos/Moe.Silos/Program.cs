using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Moe.Platform;
using Moe.Platform.Grains.Hosting;

// moe-silo: runs one platform silo until Ctrl-C or SIGTERM (workers then checkpoint their runs and hand them back).
// Options are configuration keys (appsettings.json, MOE_ environment variables such as MOE_Platform__Roles, or the
// command line); the switches below are short forms of the common ones.
var switches = new Dictionary<string, string>
{
    ["--data-dir"] = "Platform:DataDirectory",
    ["--roles"] = "Platform:Roles",
    ["--silo-port"] = "Platform:SiloPort",
    ["--gateway-port"] = "Platform:GatewayPort",
    ["--cluster-id"] = "Platform:ClusterId",
    ["--redis"] = "ConnectionStrings:Redis",
    ["--postgres"] = "ConnectionStrings:Postgres",
    ["--azure-blob"] = "ConnectionStrings:AzureBlob",
    ["--artifacts-dir"] = "Platform:ArtifactsDirectory",
    ["--worker-id"] = "Worker:WorkerId",
    ["--trainer"] = "Worker:TrainerPath",
    ["--cpu-slots"] = "Worker:CpuSlots",
};
if (args is ["--help" or "-h" or "help"])
{
    Console.WriteLine("usage: moe-silo [" + string.Join("] [", switches.Keys.Select(k => k + " <value>")) + "] [Section:Key=value ...]");
    return 0;
}

try
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
    builder.Configuration.AddEnvironmentVariables("MOE_");
    builder.Configuration.AddCommandLine(args, switches);
    builder.Logging.AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss "));
    var options = builder.Configuration.ReadPlatformSiloOptions();
    builder.AddPlatformSilo(options);
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2)); // trainers checkpoint first

    using var host = builder.Build();
    await host.StartAsync();
    host.Services.GetRequiredService<ILogger<PlatformSiloOptions>>().LogInformation(
        "moe-silo ready: roles {Roles}, data {Data}, clustering {Clustering}, metadata {Metadata}, artifacts {Artifacts}",
        options.Roles, Path.GetFullPath(options.DataDirectory), options.Redis is null ? $"localhost:{options.SiloPort}" : "redis",
        options.Postgres is null ? "sqlite" : "postgresql", options.AzureBlob is null ? "local folder" : $"azure blob/{options.BlobContainer}");
    await host.WaitForShutdownAsync();
    return 0;
}
catch (PlatformException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
