using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Tests.Artifacts;

/// <summary>The contract against the local folder store, plus what only a folder has: persistence across instances
/// and leftovers of interrupted writes.</summary>
public sealed class LocalArtifactStoreTests : ArtifactStoreContractTests
{
    private readonly LocalArtifactStore _store;

    public LocalArtifactStoreTests() => _store = new LocalArtifactStore(Path.Combine(Scratch, "store"));

    protected override IArtifactStore Store => _store;

    protected override Task CorruptAsync(string key, byte[] bytes) =>
        File.WriteAllBytesAsync(_store.DataPath(key), bytes, Ct); // the sidecar record is left as uploaded

    [Fact]
    public async Task A_new_instance_on_the_same_folder_sees_the_artifacts()
    {
        var info = await UploadAsync("runs/r1/a.bin", Bytes("persisted"));

        var reopened = new LocalArtifactStore(_store.Root);

        Assert.Equal(info, await reopened.GetInfoAsync("runs/r1/a.bin", Ct));
        await reopened.DownloadToFileAsync("runs/r1/a.bin", Path.Combine(Scratch, "a.bin"), Ct);
        Assert.Equal("persisted", await File.ReadAllTextAsync(Path.Combine(Scratch, "a.bin"), Ct));
    }

    [Fact]
    public async Task Bytes_without_a_record_are_an_interrupted_upload_and_invisible()
    {
        // A crash between writing the data and its record leaves exactly this.
        string orphan = _store.DataPath("runs/r1/partial.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(orphan)!);
        await File.WriteAllTextAsync(orphan, "half", Ct);

        Assert.Null(await _store.GetInfoAsync("runs/r1/partial.bin", Ct));
        Assert.Empty(await ListKeysAsync(""));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.OpenReadAsync("runs/r1/partial.bin", Ct));
    }

    [Fact]
    public async Task Deleting_a_folder_leaves_no_empty_folders_or_temporary_files()
    {
        await UploadAsync("runs/r1/checkpoints/step-1/model.bin", Bytes("m"));
        await UploadAsync("runs/r1/checkpoints/step-1/state.json", Bytes("s"));

        Assert.Equal(2, await _store.DeletePrefixAsync("runs/r1/", Ct));

        Assert.DoesNotContain(Directory.GetFileSystemEntries(_store.Root, "*", SearchOption.AllDirectories),
            p => Path.GetFileName(p) is not ("objects" or "meta" or "tmp"));
    }
}
