using System.IO.Compression;
using Microsoft.EntityFrameworkCore;
using Moe.Platform;
using Moe.Platform.Storage.Artifacts;
using Moe.Platform.Storage.Metadata;
using Moe.Web.Queries;
using Moe.Web.Security;

namespace Moe.Web.Apis;

public sealed record CheckpointView(long Step, string ArtifactPrefix, string ManifestSha256, long SizeBytes, double? ValLoss, DateTime CreatedAt,
    IReadOnlyList<string> Models);
public sealed record PromoteRequest(string? Model, string? Description, string? Alias);

/// <summary>/api/v1/runs/{id}/checkpoints: the kept checkpoints, a download of one as a zip, and promotion to the model registry.</summary>
public static class CheckpointsApi
{
    public static void MapCheckpointsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/runs/{runId}/checkpoints").WithTags("Checkpoints");

        group.MapGet("/", (string runId, ProjectAccess access, CancellationToken ct) => RunQueries.CheckpointsAsync(access, runId, ct))
            .WithSummary("The run's checkpoints kept by retention (last K, best, pinned by models)");

        group.MapGet("/{step:long}/download", async (string runId, long step, ProjectAccess access, IArtifactStore store, HttpContext http, CancellationToken ct) =>
        {
            await access.RequireRunAsync(runId, ProjectRole.Viewer, ct);
            var checkpoint = await access.Db.Checkpoints.AsNoTracking().FirstOrDefaultAsync(c => c.RunId == runId && c.Step == step, ct)
                ?? throw PlatformException.NotFound("step", $"run '{runId}' has no checkpoint at step {step}");
            var prefix = checkpoint.ArtifactPrefix.TrimEnd('/') + "/";
            var files = new List<ArtifactInfo>();
            await foreach (var file in store.ListAsync(prefix, ct)) files.Add(file);
            if (files.Count == 0) throw PlatformException.NotFound("step", $"the files of checkpoint {step} are not in the artifact store");

            // Streamed: the archive is written to the response as each file is read, never held in memory or on disk.
            // Weights do not compress much; Fastest keeps the CPU cost low. manifest.json inside lists every file's SHA-256.
            http.Response.ContentType = "application/zip";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{runId}-step-{step}.zip\"";
            await using var zip = new ZipArchive(http.Response.BodyWriter.AsStream(), ZipArchiveMode.Create, leaveOpen: true);
            foreach (var file in files)
            {
                var entry = zip.CreateEntry($"{runId}-step-{step}/{file.Key[prefix.Length..]}", CompressionLevel.Fastest);
                await using var target = await entry.OpenAsync(ct);
                await using var source = await store.OpenReadAsync(file.Key, ct);
                await source.CopyToAsync(target, ct);
            }
            return Results.Empty;
        }).WithSummary("Download a checkpoint as a zip (model, optimizer, tokenizer, state, manifest with hashes)");

        group.MapPost("/{step:long}/promote", async (string runId, long step, PromoteRequest request, ProjectAccess access, IGrainFactory grains, CancellationToken ct) =>
        {
            var version = await CheckpointCommands.PromoteAsync(access, grains, runId, step, request, ct);
            return Results.Created($"/api/v1/models/{version.Model}/versions/{version.Version}", version);
        }).WithSummary("Register the checkpoint as the next version of a model (and optionally point an alias at it)");
    }
}
