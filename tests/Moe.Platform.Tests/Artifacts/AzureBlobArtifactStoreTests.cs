using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Tests.Artifacts;

/// <summary>The contract against Azure Blob Storage as emulated by a real Azurite; each test gets its own container,
/// which the store creates on first use.</summary>
public sealed class AzureBlobArtifactStoreTests(AzuriteFixture azurite)
    : ArtifactStoreContractTests, IClassFixture<AzuriteFixture>
{
    private readonly BlobContainerClient _container =
        new(azurite.ConnectionString, $"artifacts-{Guid.NewGuid():N}");

    private AzureBlobArtifactStore? _store;

    protected override IArtifactStore Store => _store ??= new AzureBlobArtifactStore(azurite.ConnectionString, _container.Name);

    protected override async Task CorruptAsync(string key, byte[] bytes)
    {
        // Overwrite the content directly, keeping the metadata (and so the recorded SHA-256) of the upload.
        var blob = _container.GetBlobClient(key);
        var metadata = (await blob.GetPropertiesAsync(cancellationToken: Ct)).Value.Metadata;
        await blob.UploadAsync(new BinaryData(bytes), new BlobUploadOptions { Metadata = metadata }, Ct);
    }

    public override async ValueTask DisposeAsync()
    {
        await _container.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        await base.DisposeAsync();
    }

    [Fact]
    public async Task The_sha256_is_stored_in_blob_metadata()
    {
        var info = await UploadAsync("runs/r1/a.bin", Bytes("hashed"));

        var properties = (await _container.GetBlobClient("runs/r1/a.bin").GetPropertiesAsync(cancellationToken: Ct)).Value;

        Assert.Equal(info.Sha256, properties.Metadata[AzureBlobArtifactStore.Sha256Metadata]);
        Assert.Equal(Sha256Hex(Bytes("hashed")), info.Sha256);
    }

    [Fact]
    public async Task A_blob_written_by_other_means_is_listed_without_a_hash_and_refused_by_DownloadToFile()
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: Ct);
        await _container.GetBlobClient("imports/foreign.bin").UploadAsync(new BinaryData(Bytes("foreign")), Ct);

        var info = await Store.GetInfoAsync("imports/foreign.bin", Ct);
        Assert.Equal("", info!.Sha256);
        Assert.Equal(7, info.Length);
        string target = Path.Combine(Scratch, "foreign.bin");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Store.DownloadToFileAsync("imports/foreign.bin", target, Ct));
        Assert.Contains("imports/foreign.bin", e.Message);
        Assert.False(File.Exists(target));
    }
}
