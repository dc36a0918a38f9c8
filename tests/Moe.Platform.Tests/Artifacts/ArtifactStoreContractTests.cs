using System.Security.Cryptography;
using System.Text;
using Moe.Platform.Storage.Artifacts;

namespace Moe.Platform.Tests.Artifacts;

/// <summary>
/// The behaviour every <see cref="IArtifactStore"/> must have; each store's test class derives from this and supplies
/// the store and a way to corrupt stored bytes behind its back. This file: keys, writes, reads, listing, deletion.
/// </summary>
public abstract partial class ArtifactStoreContractTests : IAsyncLifetime
{
    /// <summary>A scratch folder for local files, deleted after each test.</summary>
    protected string Scratch { get; } = Directory.CreateTempSubdirectory("moe-artifacts-test-").FullName;

    protected abstract IArtifactStore Store { get; }

    /// <summary>Replaces the stored bytes of <paramref name="key"/> with <paramref name="bytes"/>, keeping what the
    /// store recorded at upload (length, SHA-256), as disk or transfer corruption would.</summary>
    protected abstract Task CorruptAsync(string key, byte[] bytes);

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual ValueTask DisposeAsync()
    {
        Directory.Delete(Scratch, recursive: true);
        return ValueTask.CompletedTask;
    }

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    protected static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    protected static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    protected Task<ArtifactInfo> UploadAsync(string key, byte[] bytes) => Store.UploadAsync(key, new MemoryStream(bytes), Ct);

    protected async Task<byte[]> ReadAllAsync(string key)
    {
        await using var stream = await Store.OpenReadAsync(key, Ct);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    protected async Task<List<string>> ListKeysAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var info in Store.ListAsync(prefix, Ct)) keys.Add(info.Key);
        return keys;
    }

    [Fact]
    public async Task Upload_records_length_and_sha256_and_GetInfo_returns_the_same()
    {
        byte[] bytes = Bytes("{\"step\": 200}");
        var uploaded = await UploadAsync("runs/r1/checkpoints/step-00000200/state.json", bytes);

        Assert.Equal("runs/r1/checkpoints/step-00000200/state.json", uploaded.Key);
        Assert.Equal(bytes.Length, uploaded.Length);
        Assert.Equal(Sha256Hex(bytes), uploaded.Sha256);
        Assert.True(uploaded.LastModified > DateTimeOffset.UtcNow.AddDays(-1), $"LastModified {uploaded.LastModified}");
        Assert.Equal(uploaded, await Store.GetInfoAsync(uploaded.Key, Ct));
        Assert.Equal(bytes, await ReadAllAsync(uploaded.Key));
    }

    [Fact]
    public async Task Upload_overwrites_content_and_hash_including_a_shorter_one()
    {
        await UploadAsync("tokenizers/t/tokenizer.json", Bytes("a much longer first version of the content"));
        byte[] second = Bytes("short");
        var info = await UploadAsync("tokenizers/t/tokenizer.json", second);

        Assert.Equal(second.Length, info.Length);
        Assert.Equal(Sha256Hex(second), (await Store.GetInfoAsync("tokenizers/t/tokenizer.json", Ct))!.Sha256);
        Assert.Equal(second, await ReadAllAsync("tokenizers/t/tokenizer.json"));
        Assert.Equal(["tokenizers/t/tokenizer.json"], await ListKeysAsync(""));
    }

    [Fact]
    public async Task An_empty_artifact_round_trips()
    {
        var info = await UploadAsync("datasets/d/empty.bin", []);

        Assert.Equal(0, info.Length);
        Assert.Equal(Sha256Hex([]), info.Sha256);
        Assert.Empty(await ReadAllAsync("datasets/d/empty.bin"));
        string path = Path.Combine(Scratch, "empty.bin");
        await Store.DownloadToFileAsync("datasets/d/empty.bin", path, Ct);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public async Task A_missing_key_is_null_false_or_not_found_depending_on_the_operation()
    {
        await UploadAsync("runs/r1/other.bin", Bytes("x")); // the container/folder exists, the key does not
        string path = Path.Combine(Scratch, "missing.bin");

        Assert.Null(await Store.GetInfoAsync("runs/r1/missing.bin", Ct));
        Assert.False(await Store.DeleteAsync("runs/r1/missing.bin", Ct));
        var read = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.OpenReadAsync("runs/r1/missing.bin", Ct));
        Assert.Equal("runs/r1/missing.bin", read.Key);
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.DownloadToFileAsync("runs/r1/missing.bin", path, Ct));
        Assert.False(File.Exists(path));
        Assert.Empty(await ListKeysAsync("runs/r2/"));
    }

    [Fact]
    public async Task A_fresh_store_is_empty_and_missing_keys_are_null()
    {
        Assert.Null(await Store.GetInfoAsync("runs/r1/model.safetensors", Ct));
        Assert.False(await Store.DeleteAsync("runs/r1/model.safetensors", Ct));
        Assert.Empty(await ListKeysAsync(""));
    }

    [Fact]
    public async Task Delete_removes_only_that_key_and_reports_whether_it_existed()
    {
        await UploadAsync("runs/r1/a.bin", Bytes("a"));
        await UploadAsync("runs/r1/b.bin", Bytes("b"));

        Assert.True(await Store.DeleteAsync("runs/r1/a.bin", Ct));
        Assert.False(await Store.DeleteAsync("runs/r1/a.bin", Ct));
        Assert.Null(await Store.GetInfoAsync("runs/r1/a.bin", Ct));
        Assert.Equal(["runs/r1/b.bin"], await ListKeysAsync("runs/"));
        Assert.Equal(Bytes("b"), await ReadAllAsync("runs/r1/b.bin"));
    }

    private static readonly string[] ListingKeys =
        ["runs/b/v.bin", "runs/a/y/z.bin", "other.txt", "runs/ab/w.bin", "runs/a/x.bin", "runs/a.json"];

    [Fact]
    public async Task List_is_ordered_by_key_and_a_trailing_slash_limits_it_to_one_folder()
    {
        foreach (var key in ListingKeys) await UploadAsync(key, Bytes(key));

        // A trailing '/' means the folder: runs/ab/... is not under runs/a/.
        Assert.Equal(["runs/a/x.bin", "runs/a/y/z.bin"], await ListKeysAsync("runs/a/"));
        // Without it the prefix is a plain string prefix, as in Azure Blob Storage.
        Assert.Equal(["runs/a.json", "runs/a/x.bin", "runs/a/y/z.bin", "runs/ab/w.bin"], await ListKeysAsync("runs/a"));
        Assert.Equal(ListingKeys.Order(StringComparer.Ordinal), await ListKeysAsync(""));
        Assert.Empty(await ListKeysAsync("runs/c/"));
        Assert.Empty(await ListKeysAsync("nothing"));

        var infos = new List<ArtifactInfo>();
        await foreach (var info in Store.ListAsync("runs/a/y/", Ct)) infos.Add(info);
        var only = Assert.Single(infos);
        Assert.Equal(await Store.GetInfoAsync("runs/a/y/z.bin", Ct), only);
    }

    [Fact]
    public async Task DeletePrefix_deletes_that_folder_only_and_counts()
    {
        foreach (var key in ListingKeys) await UploadAsync(key, Bytes(key));

        Assert.Equal(2, await Store.DeletePrefixAsync("runs/a/", Ct));
        Assert.Equal(["other.txt", "runs/a.json", "runs/ab/w.bin", "runs/b/v.bin"], await ListKeysAsync(""));
        Assert.Equal(0, await Store.DeletePrefixAsync("runs/a/", Ct));
        Assert.Equal(3, await Store.DeletePrefixAsync("runs/", Ct));
        Assert.Equal(["other.txt"], await ListKeysAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeletePrefixAsync("", Ct));
        Assert.Equal(["other.txt"], await ListKeysAsync(""));
    }

    public static TheoryData<string> InvalidKeys =>
        ["", " ", "/runs/r1/a.bin", "runs/../a.bin", "..", "runs/r1/..", "./a.bin", "runs\\r1\\a.bin", "runs//a.bin", "runs/r1/", "a\nb"];

    [Theory]
    [MemberData(nameof(InvalidKeys))]
    public async Task Every_operation_rejects_an_invalid_key_naming_it(string key)
    {
        string path = Path.Combine(Scratch, "out.bin");
        await AssertRejectedAsync(key, () => Store.UploadAsync(key, new MemoryStream([1]), Ct));
        await AssertRejectedAsync(key, () => Store.GetInfoAsync(key, Ct));
        await AssertRejectedAsync(key, () => Store.OpenReadAsync(key, Ct));
        await AssertRejectedAsync(key, () => Store.DownloadToFileAsync(key, path, Ct));
        await AssertRejectedAsync(key, () => Store.DeleteAsync(key, Ct));
        Assert.Empty(await ListKeysAsync(""));
        Assert.False(File.Exists(path));
    }

    [Theory]
    [InlineData("/runs/")]
    [InlineData("runs/../")]
    [InlineData("runs\\r1")]
    [InlineData("..")]
    public async Task List_and_DeletePrefix_reject_an_invalid_prefix(string prefix)
    {
        await AssertRejectedAsync(prefix, () => ListKeysAsync(prefix));
        await AssertRejectedAsync(prefix, () => Store.DeletePrefixAsync(prefix, Ct));
    }

    private static async Task AssertRejectedAsync(string key, Func<Task> action)
    {
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(action);
        Assert.Contains($"'{key}'", e.Message);
    }
}
