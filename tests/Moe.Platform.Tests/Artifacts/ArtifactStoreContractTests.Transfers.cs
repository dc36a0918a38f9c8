using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Tests.Artifacts;

/// <summary>The contract, continued: files and folders, large artifacts, integrity checks and concurrency.</summary>
public abstract partial class ArtifactStoreContractTests
{
    [Fact]
    public async Task A_20_MiB_artifact_round_trips_through_files_in_several_blocks()
    {
        // Not a multiple of any block size, so the last block is partial.
        byte[] bytes = RandomBytes((20 << 20) + 3, seed: 1);
        string source = Path.Combine(Scratch, "model.safetensors");
        await File.WriteAllBytesAsync(source, bytes, Ct);

        var uploaded = await Store.UploadFileAsync("runs/r1/checkpoints/step-00000200/model.safetensors", source, Ct);
        Assert.Equal(bytes.Length, uploaded.Length);
        Assert.Equal(Sha256Hex(bytes), uploaded.Sha256);

        string target = Path.Combine(Scratch, "restore", "step-00000200", "model.safetensors");
        var downloaded = await Store.DownloadToFileAsync(uploaded.Key, target, Ct);
        Assert.Equal(uploaded, downloaded);
        Assert.Equal(Sha256Hex(bytes), Sha256Hex(await File.ReadAllBytesAsync(target, Ct)));
        Assert.Equal(Sha256Hex(bytes), Sha256Hex(await ReadAllAsync(uploaded.Key)));
    }

    [Fact]
    public async Task DownloadToFile_replaces_an_existing_file()
    {
        await UploadAsync("tokenizers/t/tokenizer.json", Bytes("new"));
        string target = Path.Combine(Scratch, "tokenizer.json");
        await File.WriteAllTextAsync(target, "an older and longer tokenizer", Ct);

        await Store.DownloadToFileAsync("tokenizers/t/tokenizer.json", target, Ct);

        Assert.Equal("new", await File.ReadAllTextAsync(target, Ct));
        Assert.Equal(["tokenizer.json"], Directory.GetFiles(Scratch).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(false)] // same length, one byte flipped: only the hash can tell
    [InlineData(true)] // truncated: the length tells
    public async Task DownloadToFile_detects_corrupt_bytes_throws_naming_the_key_and_leaves_no_file(bool truncate)
    {
        const string key = "datasets/brown-4k/shard-00000.bin";
        byte[] bytes = RandomBytes(300_000, seed: 2);
        await UploadAsync(key, bytes);
        byte[] corrupt = truncate ? bytes[..^1000] : (byte[])bytes.Clone();
        if (!truncate) corrupt[150_000] ^= 0x01;
        await CorruptAsync(key, corrupt);

        string folder = Path.Combine(Scratch, "download");
        string target = Path.Combine(folder, "shard-00000.bin");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Store.DownloadToFileAsync(key, target, Ct));

        Assert.Contains(key, e.Message);
        Assert.Contains(Sha256Hex(bytes), e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(folder)); // neither the file nor its temporary file
    }

    [Fact]
    public async Task A_failed_DownloadToFile_keeps_the_previous_file()
    {
        const string key = "runs/r1/checkpoints/step-00000100/model.safetensors";
        await UploadAsync(key, Bytes("good weights"));
        await CorruptAsync(key, Bytes("evil weights"));
        string target = Path.Combine(Scratch, "model.safetensors");
        await File.WriteAllTextAsync(target, "previous weights", Ct);

        await Assert.ThrowsAsync<InvalidDataException>(() => Store.DownloadToFileAsync(key, target, Ct));

        Assert.Equal("previous weights", await File.ReadAllTextAsync(target, Ct));
        Assert.Single(Directory.GetFiles(Scratch));
    }

    [Fact]
    public async Task OpenRead_does_not_verify_and_returns_the_stored_bytes()
    {
        await UploadAsync("runs/r1/log.txt", Bytes("original"));
        await CorruptAsync("runs/r1/log.txt", Bytes("tampered"));

        Assert.Equal(Bytes("tampered"), await ReadAllAsync("runs/r1/log.txt"));
        Assert.Equal(Sha256Hex(Bytes("original")), (await Store.GetInfoAsync("runs/r1/log.txt", Ct))!.Sha256);
    }

    [Fact]
    public async Task Concurrent_uploads_of_different_keys_all_land_intact()
    {
        var contents = Enumerable.Range(0, 16)
            .ToDictionary(i => $"datasets/d/shard-{i:D5}.bin", i => RandomBytes(50_000 + i * 7_919, seed: 100 + i));

        var infos = await Task.WhenAll(contents.Select(kv => Task.Run(() => UploadAsync(kv.Key, kv.Value), Ct)));

        Assert.All(infos, info => Assert.Equal(Sha256Hex(contents[info.Key]), info.Sha256));
        Assert.Equal(contents.Keys.Order(StringComparer.Ordinal), await ListKeysAsync("datasets/d/"));
        foreach (var (key, bytes) in contents)
        {
            string target = Path.Combine(Scratch, key);
            await Store.DownloadToFileAsync(key, target, Ct);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(target, Ct));
        }
    }

    [Fact]
    public async Task UploadDirectory_uploads_a_checkpoint_folder_under_the_prefix_in_key_order()
    {
        string checkpoint = Path.Combine(Scratch, "step-00000200");
        Directory.CreateDirectory(Path.Combine(checkpoint, "optimizer"));
        await File.WriteAllTextAsync(Path.Combine(checkpoint, "state.json"), "{}", Ct);
        await File.WriteAllBytesAsync(Path.Combine(checkpoint, "model.safetensors"), RandomBytes(10_000, seed: 3), Ct);
        await File.WriteAllBytesAsync(Path.Combine(checkpoint, "optimizer", "adamw.bin"), RandomBytes(5_000, seed: 4), Ct);

        // No trailing '/': the prefix is a folder either way.
        var infos = await Store.UploadDirectoryAsync("runs/r1/checkpoints/step-00000200", checkpoint, Ct);

        string[] expected =
        [
            "runs/r1/checkpoints/step-00000200/model.safetensors",
            "runs/r1/checkpoints/step-00000200/optimizer/adamw.bin",
            "runs/r1/checkpoints/step-00000200/state.json",
        ];
        Assert.Equal(expected, infos.Select(i => i.Key));
        Assert.Equal(expected, await ListKeysAsync("runs/r1/checkpoints/"));
        byte[] adamw = await File.ReadAllBytesAsync(Path.Combine(checkpoint, "optimizer", "adamw.bin"), Ct);
        Assert.Equal(Sha256Hex(adamw), infos[1].Sha256);
        Assert.Equal(adamw, await ReadAllAsync(expected[1]));
    }

    [Fact]
    public async Task UploadDirectory_of_a_missing_folder_throws_and_writes_nothing()
    {
        await Assert.ThrowsAsync<DirectoryNotFoundException>(
            () => Store.UploadDirectoryAsync("runs/r1/", Path.Combine(Scratch, "absent"), Ct));
        Assert.Empty(await ListKeysAsync(""));
    }
}
