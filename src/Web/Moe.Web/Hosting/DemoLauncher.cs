using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Moe.Platform.Datasets;
using Moe.Platform.Experiments;
using Moe.Platform.Grains.Hosting;
using Moe.Platform.Runs;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Apis;
using Moe.Web.Runs;
using Moe.Web.Security;

namespace Moe.Web.Hosting;

/// <summary>
/// <c>./platform run</c> (Web:Demo=true): once the app is up, prints the portal's address and the admin's credentials,
/// registers the Brown corpus as dataset "brown" (unless a version is ready or preparing), and launches the
/// brown-default preset in experiment "demo" unless a demo run is already active or has succeeded; then prints the
/// run's progress until it ends. Everything goes through the same grains as the API, so the portal shows it live.
/// </summary>
public sealed class DemoLauncher(
    IServer server, IHostApplicationLifetime lifetime, IGrainFactory grains, IArtifactStore store, IDbContextFactory<PlatformDb> databases,
    RunPresets presets, IOptions<WebOptions> web, PlatformSiloOptions platform, TimeProvider time, ILogger<DemoLauncher> logger)
    : BackgroundService
{
    public const string DatasetId = "brown", ExperimentId = "demo", Preset = "brown-default";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
        try
        {
            PrintWelcome();
            await EnsureDatasetAsync(stoppingToken);
            var runId = await EnsureRunAsync(stoppingToken);
            if (runId is not null) await FollowAsync(runId, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "The demo could not be launched");
        }
    }

    void PrintWelcome()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:5080";
        var passwordFile = AdminBootstrap.PasswordPath(platform);
        var password = File.Exists(passwordFile) ? File.ReadAllLines(passwordFile).ElementAtOrDefault(1) : null;
        Say($"portal: {address}  (API docs: {address}/scalar)");
        Say(password is null
            ? $"sign in as '{web.Value.AdminUser}' with the configured Web:AdminPassword"
            : $"sign in as '{web.Value.AdminUser}' with password '{password}' (kept in {passwordFile})");
    }

    async Task EnsureDatasetAsync(CancellationToken ct)
    {
        var dataset = grains.GetDataset(DatasetId);
        var snapshot = await DatasetsApi.GetOrCreateAsync(dataset, "The Brown corpus (15 genres), registered by ./platform run");
        if (!snapshot.Versions.Any(v => v.State is DatasetVersionState.Ready or DatasetVersionState.Preparing))
        {
            var file = DatasetsApi.BuiltInCorpusFile(web.Value.CorporaDirectory, "brown");
            await DatasetsApi.AddFileVersionAsync(dataset, DatasetId, file, 4096, 0.02, store, time, ct);
            Say("registered the Brown corpus as dataset 'brown'; training its 4096-token BPE and tokenising (a minute or two)");
        }
        while (true)
        {
            var versions = (await dataset.GetAsync()).Versions;
            if (versions.Any(v => v.State == DatasetVersionState.Ready)) return;
            if (versions.Count > 0 && versions[^1].State == DatasetVersionState.Failed)
                throw new InvalidOperationException($"dataset 'brown' failed to prepare: {versions[^1].Error}");
            await Task.Delay(1000, ct);
        }
    }

    async Task<string?> EnsureRunAsync(CancellationToken ct)
    {
        var experiment = grains.GetExperiment(ExperimentId);
        try
        {
            await experiment.GetAsync();
        }
        catch (PlatformException e) when (e.Kind == PlatformErrorKind.NotFound)
        {
            await experiment.CreateAsync(new ExperimentSpec("Demo", "Runs launched by ./platform run", Project.DefaultId));
        }
        await using var db = await databases.CreateDbContextAsync(ct);
        var existing = await db.Runs.AsNoTracking().Where(r => r.ExperimentId == ExperimentId)
            .Where(r => r.Status != nameof(RunStatus.Failed) && r.Status != nameof(RunStatus.Cancelled))
            .OrderByDescending(r => r.CreatedAt).FirstOrDefaultAsync(ct);
        if (existing is { Status: nameof(RunStatus.Succeeded) })
        {
            Say($"the demo run {existing.Id} has already finished (best validation loss {existing.BestValLoss?.ToString("F3", CultureInfo.InvariantCulture)}); launch more from the portal");
            return null;
        }
        if (existing is not null) return existing.Id;
        var config = presets.Compose(Preset, null, null);
        var runId = Slug.WithSuffix(Preset);
        await grains.GetRun(runId).CreateAsync(new RunSpec(ExperimentId, Preset, 0, presets.LoadRunPreset(Preset).Resources, config.ToJsonString(), MaxRetries: 2));
        Say($"launched the demo run {runId} (preset {Preset}) in experiment 'demo'");
        return runId;
    }

    async Task FollowAsync(string runId, CancellationToken ct)
    {
        var run = grains.GetRun(runId);
        RunProgress? progress = null;
        long lastShown = -1;
        while (true)
        {
            var snapshot = await run.GetAsync();
            progress ??= RunProgress.Of(snapshot.Spec); // the run's own steps: the demo run found at a restart may not be the preset's
            if (progress.Bucket(snapshot) != lastShown || snapshot.Status.IsTerminal())
            {
                lastShown = progress.Bucket(snapshot);
                Say(progress.Line(snapshot));
            }
            if (snapshot.Status.IsTerminal()) return;
            await Task.Delay(2000, ct);
        }
    }

    static void Say(string text) => Console.WriteLine($"[moe-web] {text}");
}
