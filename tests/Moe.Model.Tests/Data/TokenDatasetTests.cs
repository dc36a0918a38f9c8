using System.Security.Cryptography;
using System.Text;
using Moe.Model.Data;

namespace Moe.Model.Tests.Data;

/// <summary>Prepared datasets: shard contents, manifest hashes, dtype choice, sharding, verification, validation split.</summary>
public sealed class TokenDatasetTests : TempFolderTest
{
    static readonly ByteEncoder Bytes = new();

    string[] Documents(int count) => Enumerable.Range(0, count).Select(i => $"document {i}: {new string((char)('a' + i % 26), i % 7 + 1)}").ToArray();

    string JsonLines(string name, IEnumerable<string> texts) =>
        Write(name, string.Concat(texts.Select(t => $"{{\"text\":\"{t}\"}}\n")));

    static int[] EncodedWithSeparators(ByteEncoder encoder, IEnumerable<string> texts) =>
        texts.SelectMany(t => encoder.Encode(t).Append(ByteEncoder.Eos)).ToArray();

    static PrepareOptions Options(double validation = 0, long shardTokens = 1 << 20) =>
        new() { DocumentSeparator = ByteEncoder.Eos, ValidationFraction = validation, ShardTokens = shardTokens, Seed = 5 };

    [Fact]
    public void TokensReadBackAreTheEncodedDocumentsWithSeparatorsInSourceOrder()
    {
        var first = Documents(3);
        var text = "A whole text file\nis one document.";
        var sources = new[] { JsonLines("src/a.jsonl", first), Write("src/b.txt", text) };

        var manifest = TokenDataset.Prepare(sources, Bytes, PathOf("ds"), Options());

        var expected = EncodedWithSeparators(Bytes, [.. first, text]);
        Assert.Equal(expected, TokenDataset.ReadTokens(PathOf("ds"), DatasetSplit.Train));
        Assert.Empty(TokenDataset.ReadTokens(PathOf("ds"), DatasetSplit.Validation));
        Assert.Equal(expected.Length, manifest.TokenCount);
        Assert.Equal(4, manifest.Train.Documents);
        Assert.Equal(ByteEncoder.Eos, manifest.DocumentSeparator);
        Assert.Equal(Bytes.VocabularyHash, manifest.VocabularyHash);
        Assert.Equal(Bytes.VocabSize, manifest.VocabSize);
        Assert.Equal(["a.jsonl", "b.txt"], manifest.Sources.Select(s => Path.GetFileName(s.Name)));
        Assert.Equal([3L, 1L], manifest.Sources.Select(s => s.Documents));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(sources[1]))), manifest.Sources[1].Sha256);
        Assert.Equal(new FileInfo(sources[0]).Length, manifest.Sources[0].Bytes);
    }

    [Fact]
    public void ManifestHashesMatchARecomputedSha256AndRoundTripThroughJson()
    {
        var source = JsonLines("src/a.jsonl", Documents(40));
        var manifest = TokenDataset.Prepare([source], Bytes, PathOf("ds"), Options(validation: 0.25, shardTokens: 100));

        foreach (var shard in manifest.Train.Shards.Concat(manifest.Validation.Shards))
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(PathOf("ds", shard.File)))), shard.Sha256);
        var lines = string.Concat(manifest.Train.Shards.Concat(manifest.Validation.Shards).Select(s => $"{s.File} {s.Sha256}\n"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(lines))), manifest.ContentHash);

        var json = File.ReadAllText(PathOf("ds", DatasetManifest.FileName));
        Assert.Contains("\"vocabulary_hash\"", json);
        Assert.Contains("\"content_hash\"", json);
        Assert.DoesNotContain("bytes_per_token", json);
        var read = TokenDataset.Verify(PathOf("ds"));
        Assert.Equal(manifest.ToJson(), read.ToJson());
    }

    [Theory]
    [InlineData(ByteEncoder.DefaultVocab, 3, "uint16", 2)]
    [InlineData(65_536, 65_536 - 256, "uint16", 2)]   // largest id 65,535: still fits
    [InlineData(65_537, 65_537 - 256, "uint32", 4)]   // largest id 65,536: does not
    [InlineData(200_000, 100_000, "uint32", 4)]
    public void ShardsAreUInt16WhenEveryIdFitsElseUInt32(int vocab, int offset, string dtype, int bytesPerToken)
    {
        var encoder = new ByteEncoder(vocab, offset);
        var texts = new[] { "\u00ff\u00fe high bytes", "low" };
        var manifest = TokenDataset.Prepare([JsonLines("src/a.jsonl", texts)], encoder, PathOf("ds"), new PrepareOptions());

        Assert.Equal(dtype, manifest.DType);
        var expected = texts.SelectMany(encoder.Encode).ToArray();
        Assert.Equal(expected.Length * bytesPerToken, new FileInfo(PathOf("ds", "train-00000.bin")).Length);
        Assert.Equal(expected, TokenDataset.ReadTokens(PathOf("ds"), DatasetSplit.Train));
    }

    [Fact]
    public void ShardsSplitTheStreamAtExactlyShardTokensRegardlessOfDocumentBoundaries()
    {
        var texts = Documents(9);
        var manifest = TokenDataset.Prepare([JsonLines("src/a.jsonl", texts)], Bytes, PathOf("ds"), Options(shardTokens: 7));

        var expected = EncodedWithSeparators(Bytes, texts);
        var shards = manifest.Train.Shards;
        Assert.Equal((expected.Length + 6) / 7, shards.Count);
        Assert.Equal(Enumerable.Range(0, shards.Count).Select(i => $"train-{i:D5}.bin"), shards.Select(s => s.File));
        Assert.All(shards.SkipLast(1), s => Assert.Equal(7, s.Tokens));
        Assert.Equal(expected.Length - 7 * (shards.Count - 1), shards[^1].Tokens);
        var concatenated = shards.SelectMany(s => TokenDataset.ReadShard(PathOf("ds", s.File), manifest.DType)).ToArray();
        Assert.Equal(expected, concatenated);
        Assert.Equal(expected, TokenDataset.ReadTokens(PathOf("ds"), DatasetSplit.Train));
    }

    [Fact]
    public void VerifyDetectsAFlippedByte()
    {
        TokenDataset.Prepare([JsonLines("src/a.jsonl", Documents(5))], Bytes, PathOf("ds"), Options());
        var shard = PathOf("ds", "train-00000.bin");
        var bytes = File.ReadAllBytes(shard);
        bytes[3] ^= 0x01;
        File.WriteAllBytes(shard, bytes);

        var e = Assert.Throws<InvalidDataException>(() => TokenDataset.Verify(PathOf("ds")));
        Assert.Contains("train-00000.bin", e.Message);
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public void VerifyDetectsATruncatedShardAndReadTokensRefusesIt()
    {
        TokenDataset.Prepare([JsonLines("src/a.jsonl", Documents(5))], Bytes, PathOf("ds"), Options());
        var shard = PathOf("ds", "train-00000.bin");
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..^2]);

        var e = Assert.Throws<InvalidDataException>(() => TokenDataset.Verify(PathOf("ds")));
        Assert.Contains("train-00000.bin", e.Message);
        Assert.Contains($"{bytes.Length - 2} bytes", e.Message);
        Assert.Throws<InvalidDataException>(() => TokenDataset.ReadTokens(PathOf("ds"), DatasetSplit.Train));
    }

    [Fact]
    public void AnExistingOutputFolderIsRefusedUnlessOverwriteIsAskedFor()
    {
        var source = JsonLines("src/a.jsonl", Documents(3));
        TokenDataset.Prepare([source], Bytes, PathOf("ds"), Options());
        Assert.Throws<IOException>(() => TokenDataset.Prepare([source], Bytes, PathOf("ds"), Options()));

        var other = JsonLines("src/b.jsonl", ["replaced"]);
        TokenDataset.Prepare([other], Bytes, PathOf("ds"), Options() with { Overwrite = true });
        Assert.Equal(EncodedWithSeparators(Bytes, ["replaced"]), TokenDataset.ReadTokens(PathOf("ds"), DatasetSplit.Train));
        Assert.Equal(["ds", "src"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName).Order());
    }

    // ------------------------------------------------------------------ validation split

    static string[] Split(int[] tokens, ByteEncoder encoder) =>
        string.Join("", tokens.Select(t => t == ByteEncoder.Eos ? "\n" : encoder.Decode([t]))).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void ValidationSplitIsDeterministicDisjointAndTheRequestedShare()
    {
        var texts = Documents(50);
        var source = JsonLines("src/a.jsonl", texts);
        var first = TokenDataset.Prepare([source], Bytes, PathOf("one"), Options(validation: 0.2));
        var second = TokenDataset.Prepare([source], Bytes, PathOf("two"), Options(validation: 0.2));

        Assert.Equal(first.ContentHash, second.ContentHash);
        var validation = Split(TokenDataset.ReadTokens(PathOf("one"), DatasetSplit.Validation), Bytes);
        var train = Split(TokenDataset.ReadTokens(PathOf("one"), DatasetSplit.Train), Bytes);
        Assert.Equal(10, validation.Length);
        Assert.Equal(10, first.Validation.Documents);
        Assert.Empty(validation.Intersect(train));
        Assert.Equal(texts.Order(), validation.Concat(train).Order());
        // Each split keeps the documents' source order.
        Assert.Equal(texts.Where(validation.Contains), validation);

        var reseeded = TokenDataset.Prepare([source], Bytes, PathOf("three"), Options(validation: 0.2) with { Seed = 6 });
        Assert.NotEqual(first.ContentHash, reseeded.ContentHash);
    }

    [Fact]
    public void ValidationSplitDoesNotDependOnWhereTheSourcesLie()
    {
        var texts = Documents(30);
        var here = JsonLines("src/corpus.jsonl", texts);
        var there = JsonLines("elsewhere/deeper/corpus.jsonl", texts);
        var a = TokenDataset.Prepare([here], Bytes, PathOf("a"), Options(validation: 0.3));
        var b = TokenDataset.Prepare([there], Bytes, PathOf("b"), Options(validation: 0.3));
        Assert.Equal(a.ContentHash, b.ContentHash);
    }

    [Fact]
    public void ValidationMaskHoldsOutAtLeastOneDocumentAndNeverAll()
    {
        Assert.Equal([false], TokenDataset.ValidationMask(["x#0"], 1, 0.5));
        Assert.Equal(1, TokenDataset.ValidationMask(["x#0", "x#1", "x#2"], 1, 0.01).Count(v => v));
        Assert.Equal(2, TokenDataset.ValidationMask(["x#0", "x#1", "x#2"], 1, 0.99).Count(v => v));
        Assert.All(TokenDataset.ValidationMask(["x#0", "x#1"], 1, 0), Assert.False);
    }
}
