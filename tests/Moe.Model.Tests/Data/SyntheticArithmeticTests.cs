using System.Globalization;
using System.Text.RegularExpressions;
using Moe.Model.Data;
using Moe.Model.Tokenization;

namespace Moe.Model.Tests.Data;

/// <summary>The arithmetic generator: determinism, exact answers and worked steps, the answer verifier, JSON-lines output.</summary>
public sealed partial class SyntheticArithmeticTests : TempFolderTest
{
    /// <summary>An independent evaluator for the generator's expressions (integers, unary minus, + - *, parentheses, usual precedence).</summary>
    static long Evaluate(string expression)
    {
        var tokens = TokenPattern().Matches(expression).Select(m => m.Value).ToList();
        var at = 0;
        long Primary()
        {
            var t = tokens[at++];
            if (t == "-") return -Primary();   // worked steps may start from a negative intermediate result
            if (t != "(") return long.Parse(t, CultureInfo.InvariantCulture);
            var v = Sum();
            Assert.Equal(")", tokens[at++]);
            return v;
        }
        long Product()
        {
            var v = Primary();
            while (at < tokens.Count && tokens[at] == "*") { at++; v *= Primary(); }
            return v;
        }
        long Sum()
        {
            var v = Product();
            while (at < tokens.Count && tokens[at] is "+" or "-") v = tokens[at++] == "+" ? v + Product() : v - Product();
            return v;
        }
        var result = Sum();
        Assert.Equal(tokens.Count, at);
        return result;
    }

    [GeneratedRegex(@"\d+|[-+*()]")]
    private static partial Regex TokenPattern();

    [Fact]
    public void TheSameSeedGivesTheSameProblems()
    {
        Assert.Equal(SyntheticArithmetic.Generate(17, 300), SyntheticArithmetic.Generate(17, 300));
        Assert.NotEqual(SyntheticArithmetic.Generate(17, 20), SyntheticArithmetic.Generate(18, 20));
        // A fixed sequence: changing the generator changes every evaluation set, so it must be deliberate.
        Assert.Equal(SyntheticArithmetic.Generate(17, 300).Take(5), SyntheticArithmetic.Generate(17, 5));
    }

    [Fact]
    public void AnswersAreExactAndEveryWorkedStepIsRight()
    {
        var problems = SyntheticArithmetic.Generate(3, 2000, maxOperand: 999);
        Assert.Equal(Enum.GetValues<ArithmeticKind>(), problems.Select(p => p.Kind).Distinct().Order());
        foreach (var p in problems)
        {
            Assert.Equal(Evaluate(p.Expression), p.Value);
            Assert.Equal(p.Value.ToString(CultureInfo.InvariantCulture), p.Answer);
            Assert.Equal($"What is {p.Expression}?", p.Prompt);
            var steps = p.Solution.Split('\n');
            foreach (var step in steps)
            {
                var sides = step.Split(" = ");
                Assert.Equal(Evaluate(sides[0]), long.Parse(sides[1], CultureInfo.InvariantCulture));
            }
            Assert.EndsWith($" = {p.Answer}", steps[^1]);
            Assert.Equal(p.Kind == ArithmeticKind.MultiStep, steps.Length > 1);
        }
        Assert.Contains(problems, p => p.Value < 0);
        Assert.All(problems.Where(p => p.Kind == ArithmeticKind.Add), p => Assert.InRange(p.Value, 0, 1998));
    }

    [Fact]
    public void TheCompletionIsReasoningThenTheAnswerAndPassesTheVerifier()
    {
        var g = new SyntheticArithmetic(1);
        var p = g.Next(ArithmeticKind.MultiStep);
        var completion = SyntheticArithmetic.Completion(p);
        Assert.Equal($"{SpecialTokens.ThinkStart}\n{p.Solution}\n{SpecialTokens.ThinkEnd}\n{SpecialTokens.AnswerStart}{p.Answer}{SpecialTokens.AnswerEnd}", completion);
        Assert.All(SyntheticArithmetic.Generate(9, 200), q => Assert.True(SyntheticArithmetic.IsCorrect(q, SyntheticArithmetic.Completion(q))));
    }

    [Theory]
    [InlineData("<think>40 + 45 = 85</think><answer>85</answer>", 85L)]
    [InlineData("<answer> -47 </answer>", -47L)]
    [InlineData("<answer>1,234</answer>", 1234L)]
    [InlineData("<answer>85</answer> but maybe 99", 85L)]                // the answer tag wins over later numbers
    [InlineData("<answer>1</answer><answer>2</answer>", 2L)]              // the last answer tag
    [InlineData("<think>so</think><answer>42", 42L)]                     // cut off before </answer>
    [InlineData("<answer>85.0</answer>", 85L)]
    [InlineData("No tags: 10 - 3 = 7", 7L)]                               // else the last number
    [InlineData("the answer is -12.", -12L)]
    [InlineData("10 - 3", 3L)]                                            // a minus after a number is a subtraction
    [InlineData("<answer>eighty-five</answer> 85", null)]                 // tags without a number: no answer
    [InlineData("<answer>12.5</answer>", null)]
    [InlineData("I don't know", null)]
    [InlineData("", null)]
    public void TheVerifierExtractsTheAnswer(string completion, long? expected) =>
        Assert.Equal(expected, SyntheticArithmetic.ExtractAnswer(completion));

    [Fact]
    public void IsCorrectComparesWithTheExactAnswer()
    {
        var p = new SyntheticArithmetic(5).Next(ArithmeticKind.Add);
        Assert.True(SyntheticArithmetic.IsCorrect(p, $"<answer>{p.Value}</answer>"));
        Assert.False(SyntheticArithmetic.IsCorrect(p, $"<answer>{p.Value + 1}</answer>"));
        Assert.False(SyntheticArithmetic.IsCorrect(p, "no idea"));
    }

    [Fact]
    public void JsonLinesAreReadableAsPromptCompletionDocuments()
    {
        var path = PathOf("arith.jsonl");
        SyntheticArithmetic.WriteJsonLines(path, seed: 4, count: 25);

        var lines = File.ReadAllLines(path);
        Assert.Equal(25, lines.Length);
        Assert.Contains("<think>", lines[0]);   // written literally, not \u003C-escaped
        var docs = DocumentReader.Read(path);
        var problems = SyntheticArithmetic.Generate(4, 25);
        Assert.Equal(problems.Select(p => p.Prompt + "\n" + SyntheticArithmetic.Completion(p)), docs.Select(d => d.Text));
        Assert.Equal(Enumerable.Range(1, 25), docs.Select(d => d.Line));
    }

    [Fact]
    public void OperandLimitsAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyntheticArithmetic(1, maxOperand: 0));
        Assert.All(SyntheticArithmetic.Generate(2, 200, maxOperand: 5).Where(p => p.Kind == ArithmeticKind.Add),
            p => Assert.InRange(p.Value, 0, 10));
    }
}
