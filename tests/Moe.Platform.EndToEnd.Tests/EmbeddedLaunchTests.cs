using System.Diagnostics;
using Moe.Platform.Worker.Jobs;
using Moe.Platform.Worker.Tests;

namespace Moe.Platform.EndToEnd.Tests;

/// <summary>
/// The embedded default as a user runs it: <c>moe-silo launch --config run.json</c> starts one silo (SQLite, local
/// artifacts and a local worker under one data directory), trains the run through the grains and exits 0.
/// </summary>
public sealed class EmbeddedLaunchTests(TinyTrainingSetup data)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Moe_silo_launch_trains_a_run_with_no_other_service()
    {
        var command = await data.CommandAsync("launched", steps: 20, checkpointEvery: 10); // writes launched.json beside tok/ and ds/
        var dataDirectory = Path.Combine(data.Root, "embedded");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = data.Root };
        foreach (var argument in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, "moe-silo.dll"), "launch", "--config", command.SpecPath, "--experiment", "demo",
                     "--data-dir", dataDirectory, "--silo-port", FreePort.Next().ToString(), "--gateway-port", FreePort.Next().ToString(),
                 })
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromMinutes(3), Ct);
        var output = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("in experiment 'demo'", output);
        Assert.Contains("Running -> Succeeded", output);
        Assert.Contains("20/20", output);
        Assert.Contains("checkpoints in the artifact store: runs/", output);
        Assert.True(File.Exists(Path.Combine(dataDirectory, "platform.db")));
        Assert.True(Directory.Exists(Path.Combine(dataDirectory, "artifacts", "objects", "runs")));
    }

    [Fact]
    public async Task Moe_silo_launch_with_a_missing_config_exits_2_naming_it()
    {
        var result = await TrainerCli.RunAsync(TrainerExecutable.FromDll(Path.Combine(AppContext.BaseDirectory, "moe-silo.dll")),
            ["launch", "--config", "no-such.json", "--data-dir", Path.Combine(data.Root, "bad"), "--silo-port", FreePort.Next().ToString(),
             "--gateway-port", FreePort.Next().ToString()], data.Root, Ct);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: --config: file", result.Stderr);
    }
}
