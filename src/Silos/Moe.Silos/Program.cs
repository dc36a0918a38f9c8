using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Moe.Platform;
using Moe.Platform.Grains.Hosting;
using Moe.Silos;

// moe-silo: runs one platform silo until Ctrl-C or SIGTERM (workers then checkpoint their runs and hand them back), or
// with `launch`, the embedded default just long enough to train one run. Options are configuration keys
// (appsettings.json, MOE_ environment variables such as MOE_Platform__Roles, or Section:Key=value arguments); the
// switches below are short forms of the common ones. Exit codes: 0 ok, 1 the launched run did not succeed, 2 bad input.
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
    ["--config"] = "Launch:Config",
    ["--experiment"] = "Launch:Experiment",
    ["--name"] = "Launch:Name",
    ["--priority"] = "Launch:Priority",
    ["--gpus"] = "Launch:Gpus",
    ["--max-retries"] = "Launch:MaxRetries",
};
if (args is ["--help" or "-h" or "help"])
{
    Console.WriteLine("""
        usage: moe-silo [options] [Section:Key=value ...]
               moe-silo launch --config <run.json> [--experiment <id>] [--name N] [--priority P] [--gpus G] [--max-retries R] [options]
        options: --data-dir D (default .data/platform), --roles control,worker, --silo-port N, --gateway-port N,
                 --cluster-id C, --redis <conn>, --postgres <conn>, --azure-blob <conn>, --artifacts-dir D,
                 --worker-id W, --trainer <moe-trainer.dll>, --cpu-slots N
        """);
    return 0;
}
bool launch = args is ["launch", ..];
if (launch) args = args[1..];

try
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
    builder.Configuration.AddEnvironmentVariables("MOE_");
    builder.Configuration.AddCommandLine(args, switches);
    builder.Logging.AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss "));
    // Every SQL statement and placement at Information drowns what operators need; Logging:LogLevel:* overrides this.
    builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning)
        .AddFilter("Orleans", LogLevel.Warning);
    if (launch) builder.Logging.SetMinimumLevel(LogLevel.Warning); // the run's progress is the output
    var options = builder.Configuration.ReadPlatformSiloOptions();
    LaunchRequest? request = null;
    if (launch)
    {
        var section = builder.Configuration.GetSection("Launch");
        var configPath = section["Config"] ?? throw new PlatformException("--config", "launch needs the run config file");
        request = new LaunchRequest(configPath, RunConfigFile.Read(configPath),
            section["Experiment"] ?? "default", section["Name"],
            section.GetValue("Priority", 0), section.GetValue("Gpus", 0), section.GetValue("MaxRetries", 2));
        if (!options.IsControl || !options.IsWorker) throw new PlatformException("--roles", "launch runs the embedded default: both roles");
    }
    builder.AddPlatformSilo(options);
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2)); // trainers checkpoint first

    using var host = builder.Build();
    await host.StartAsync();
    if (request is not null)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        int code = await LaunchCommand.RunAsync(host, request, Console.Out, lifetime.ApplicationStopping);
        await host.StopAsync();
        return code;
    }
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
