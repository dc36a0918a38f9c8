using System.Diagnostics;
using System.Text.Json.Nodes;
using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Tokenization;

/// <summary>
/// Our tokenizer.json loaded by Hugging Face <c>tokenizers</c> itself (its Rust core, through the Node binding that
/// <c>./platform setup</c> installs into tests/hf-tokenizers): same ids and same decodes as our encoder.
/// </summary>
public sealed class HuggingFaceTokenizersTests
{
    static string Folder => Path.Combine(RepoPaths.Root, "tests", "hf-tokenizers");

    [Fact]
    public async Task HuggingFaceTokenizersLoadsOurFileAndAgreesOnEveryId()
    {
        if (!Directory.Exists(Path.Combine(Folder, "node_modules", "tokenizers")))
            Assert.Fail($"Hugging Face tokenizers is not installed in {Folder}: run ./platform setup (npm ci there)");
        var dir = TokenizerSamples.TempFolder();
        var tokenizer = TokenizerSamples.Trained;
        var path = Path.Combine(dir, "tokenizer.json");
        tokenizer.Save(path);
        string[] texts = [.. TokenizerSamples.Varied, .. TokenizerSamples.RandomWords(seed: 11, lines: 50),
            $"{SpecialTokens.User}\nWhat is 2 + 3?{SpecialTokens.EndOfTurn}\n{SpecialTokens.Assistant}\n{SpecialTokens.ThinkStart}2 + 3 = 5{SpecialTokens.ThinkEnd}{SpecialTokens.AnswerStart}5{SpecialTokens.AnswerEnd}",
            "math 𝐀𝐁 and gothic 𐌰𐌱, a + b = c; \"quotes\" — dashes… ellipsis"];
        var cases = new JsonArray(texts.Select(t => (JsonNode)new JsonObject
        {
            ["text"] = t,
            ["ids"] = new JsonArray(tokenizer.Encode(t).Select(i => (JsonNode?)i).ToArray()),
        }).ToArray());
        var casesPath = Path.Combine(dir, "cases.json");
        File.WriteAllText(casesPath, cases.ToJsonString());

        var info = new ProcessStartInfo("node") { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "check.js", path, casesPath }) info.ArgumentList.Add(a);
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = node.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node check.js failed: {await stderr}");
        var result = JsonNode.Parse(await stdout)!;
        Assert.Equal(texts.Length, (int)result["cases"]!);
        Assert.True((int)result["id_mismatches"]! == 0, $"ids differ: {result["examples"]}");
        Assert.Equal(0, (int)result["decode_mismatches"]!);
        Assert.Equal(tokenizer.VocabSize, (int)result["vocab_size"]!);
    }
}
