using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Platform.Worker.Jobs;

/// <summary>
/// Writes the run config the trainer reads. Written to a temporary name and renamed, so a trainer started while the
/// worker rewrites the spec never reads half a file.
/// </summary>
public static class RunSpecFile
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task WriteAsync(string path, JsonObject config, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(config);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            await File.WriteAllTextAsync(temporary, config.ToJsonString(Indented), new UTF8Encoding(false), cancellationToken);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
