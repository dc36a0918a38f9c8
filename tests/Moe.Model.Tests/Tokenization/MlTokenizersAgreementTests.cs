using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Tokenization;

/// <summary>Microsoft.ML.Tokenizers loads our GPT-2 files and encodes exactly as our encoder does.</summary>
public class MlTokenizersAgreementTests
{
    [Fact]
    public void MlTokenizersLoadsOurFilesAndGivesTheSameIds()
    {
        var tokenizer = TokenizerSamples.Trained;
        var folder = TokenizerSamples.TempFolder();
        tokenizer.SaveGpt2Files(folder);
        var ml = MlTokenizersEncoder.FromGpt2Files(folder);
        var texts = TokenizerSamples.Varied
            .Append(string.Join("\n", TokenizerSamples.Varied))
            .Append($"{SpecialTokens.User}\nhi{SpecialTokens.EndOfTurn}\n{SpecialTokens.Assistant}{SpecialTokens.ThinkStart} ok {SpecialTokens.ThinkEnd}")
            .Concat(TokenizerSamples.RandomWords(seed: 5, lines: 50));
        foreach (var text in texts) Assert.Equal(tokenizer.Encode(text), ml.Encode(text));
    }
}
