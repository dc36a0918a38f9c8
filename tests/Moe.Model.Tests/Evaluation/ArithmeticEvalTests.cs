using Moe.Model.Data;
using Moe.Model.Evaluation;
using Moe.Model.Generation;
using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Evaluation;

/// <summary>The arithmetic evaluation's prompt, how it reads an answer, and a greedy run on a tiny model.</summary>
[Collection(MoeTestModels.Collection)]
public class ArithmeticEvalTests
{
    static ArithmeticProblem Problem(long value) =>
        new(ArithmeticKind.Add, "a + b", "What is a + b?", value.ToString(System.Globalization.CultureInfo.InvariantCulture), value, "");

    [Fact]
    public void ThePromptIsAQuestionLineThenAnswerColon()
    {
        var p = new ArithmeticProblem(ArithmeticKind.Add, "12 + 30", "What is 12 + 30?", "42", 42, "12 + 30 = 42");
        Assert.Equal("Question: What is 12 + 30?\nAnswer:", ArithmeticEval.Prompt(p));
        var generated = SyntheticArithmetic.Generate(1234, 1)[0];
        Assert.Equal($"Question: {generated.Prompt}\nAnswer:", ArithmeticEval.Prompt(generated));
    }

    [Theory]
    [InlineData("42", 42, true)]
    [InlineData(" 42\n", 42, true)]
    [InlineData(" 42 apples, or 43", 42, true)]   // the first integer counts; later ones do not
    [InlineData("-7 apples", -7, true)]
    [InlineData(" x-7", -7, true)]                // a minus right before the digits makes it negative
    [InlineData("- 7", -7, false)]                // a detached minus does not: this reads 7
    [InlineData("The answer is 126", 126, true)]
    [InlineData(" 4 2", 42, false)]               // no separators: this reads 4
    [InlineData(" 420", 42, false)]
    [InlineData(" 41 42", 42, false)]
    [InlineData("no number", 0, false)]
    [InlineData("", 0, false)]
    [InlineData("99999999999999999999", 0, false)] // overflows a long: no answer
    public void ScoreComparesTheFirstIntegerWithTheExactAnswer(string completion, long answer, bool correct) =>
        Assert.Equal(correct, ArithmeticEval.Score(completion, Problem(answer)));

    [Theory]
    [InlineData("The answer is 126", 126L)]
    [InlineData("-7 apples", -7L)]
    [InlineData(" 4 2", 4L)]
    [InlineData("0042", 42L)]
    [InlineData("none", null)]
    public void FirstIntegerReadsDigitsWithAnAdjacentMinus(string completion, long? expected) =>
        Assert.Equal(expected, ArithmeticEval.FirstInteger(completion));

    [Fact]
    public void EvaluateGreedilyCompletesEachPromptUpToTheFirstNewlineAndScoresIt()
    {
        var tokenizer = BpeTokenizer.Train(["Question: What is 1 + 2?\nAnswer: 3\n", "12 - 5 = 7, 3 * 4 = 12"], SpecialTokens.Count + 256 + 20);
        manual_seed(4);
        var config = MoeTestModels.Tiny($"vocab_size={tokenizer.VocabSize}", "max_seq_len=64", "d_model=16");
        using var model = new MoeTransformer(config);
        var result = ArithmeticEval.Evaluate(model, tokenizer, seed: 9, count: 7, maxOperand: 20, CPU);

        Assert.Equal(7, result.Problems);
        Assert.Equal(9, result.Seed);
        Assert.Equal(20, result.MaxOperand);
        Assert.Equal(ArithmeticEval.ExampleCount, result.Examples.Count);
        Assert.InRange(result.Correct, 0, 7);
        Assert.Equal((double)result.Correct / 7, result.ExactMatch);
        var problems = SyntheticArithmetic.Generate(9, 5, 20);
        for (var i = 0; i < 5; i++)
        {
            var e = result.Examples[i];
            Assert.Equal(ArithmeticEval.Prompt(problems[i]), e.Prompt);
            Assert.Equal(problems[i].Answer, e.Answer);
            Assert.Equal(ArithmeticEval.FirstInteger(e.Completion), e.Predicted);
            Assert.Equal(e.Predicted == problems[i].Value, e.Correct);

            // The same greedy decoding without the newline stop, cut at the first newline, gives the same completion.
            var ids = new List<int> { SpecialTokens.BosId };
            ids.AddRange(tokenizer.Encode(e.Prompt));
            var full = TextGenerator.Generate(model, ids, new SamplingOptions(ArithmeticEval.MaxNewTokens, 0, StopToken: SpecialTokens.EosId), CPU);
            Assert.Equal(tokenizer.Decode(full.Where(t => t != SpecialTokens.EosId).ToArray()).Split('\n')[0], e.Completion);
        }
        Assert.Equal(result, ArithmeticEval.Evaluate(model, tokenizer, seed: 9, count: 7, maxOperand: 20, CPU) with { Examples = result.Examples });
    }
}
