using System.Text.Json;

namespace Moe.Platform.Storage.Artifacts;

/// <summary>The local store's sidecar for one artifact (<c>meta/&lt;key&gt;.json</c>): what was written, so a file
/// changed on disk afterwards is detected.</summary>
internal sealed record LocalArtifactRecord(long Length, string Sha256, DateTimeOffset LastModified)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public ArtifactInfo ToInfo(string key) => new(key, Length, Sha256, LastModified);

    public static LocalArtifactRecord From(ArtifactInfo info) => new(info.Length, info.Sha256, info.LastModified);

    public Task WriteAsync(Stream stream, CancellationToken cancellationToken) =>
        JsonSerializer.SerializeAsync(stream, this, Json, cancellationToken);

    /// <summary>The record at <paramref name="path"/>, or null when there is none (deleted, or never written).</summary>
    public static async Task<LocalArtifactRecord?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                bufferSize: 4096, FileOptions.Asynchronous);
            return await JsonSerializer.DeserializeAsync<LocalArtifactRecord>(stream, Json, cancellationToken)
                   ?? throw new InvalidDataException($"artifact record '{path}' is empty");
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (JsonException e) { throw new InvalidDataException($"artifact record '{path}' is not valid: {e.Message}", e); }
    }
}
