using System.Text.Json;
using System.Text.Json.Serialization;

namespace Moe.Platform.Worker.Checkpoints;

/// <summary>
/// The trainer's <c>manifest.json</c> in a checkpoint folder (written last): name, size and SHA-256 of every other
/// file. The uploader checks an upload against it, so a folder that retention deleted halfway through an upload is
/// never taken for a checkpoint.
/// </summary>
public sealed record CheckpointManifest(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("files")] IReadOnlyList<CheckpointManifestFile> Files)
{
    public const string FileName = "manifest.json";

    /// <summary>Reads the manifest of <paramref name="folder"/>; FileNotFound/DirectoryNotFound when it is gone.</summary>
    public static async Task<CheckpointManifest> ReadAsync(string folder, CancellationToken cancellationToken = default)
    {
        await using var stream = File.OpenRead(Path.Combine(folder, FileName));
        return await JsonSerializer.DeserializeAsync<CheckpointManifest>(stream, cancellationToken: cancellationToken)
               ?? throw new InvalidDataException($"{Path.Combine(folder, FileName)} is empty");
    }
}

public sealed record CheckpointManifestFile(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("sha256")] string Sha256);
