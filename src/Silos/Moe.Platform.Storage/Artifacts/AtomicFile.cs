namespace Moe.Platform.Storage.Artifacts;

/// <summary>
/// Writes a file so that readers see either the old file or the complete new one: the bytes go to a temporary file,
/// are flushed to disk, and the temporary file is renamed over the target (a rename within one file system is atomic
/// on POSIX and NTFS). A failed or cancelled write deletes the temporary file and leaves the target untouched.
/// </summary>
internal static class AtomicFile
{
    /// <param name="path">The file to create or replace; its folder is created.</param>
    /// <param name="tempDirectory">Where the temporary file goes; must be on the same file system as
    /// <paramref name="path"/>. Null means the target's own folder.</param>
    /// <param name="write">Writes the content; throwing aborts the write.</param>
    public static async Task<T> WriteAsync<T>(string path, string? tempDirectory,
        Func<Stream, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(tempDirectory ?? directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            T result;
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None,
                             bufferSize: 1 << 16, FileOptions.Asynchronous))
            {
                result = await write(stream, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true); // the rename must not reach the disk before the data does
            }
            try
            {
                File.Move(temp, path, overwrite: true);
            }
            catch (DirectoryNotFoundException)
            {
                // A concurrent delete pruned the (then empty) folder between CreateDirectory and the rename.
                Directory.CreateDirectory(directory);
                File.Move(temp, path, overwrite: true);
            }
            return result;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { } // best effort: the original exception is the one worth reporting
        catch (UnauthorizedAccessException) { }
    }
}
