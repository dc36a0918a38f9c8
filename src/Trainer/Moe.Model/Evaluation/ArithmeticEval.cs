using System.Globalization;
using System.Text.RegularExpressions;
using Moe.Model.Data;
using Moe.Model.Generation;
using Moe.Model.Model;
using Moe.Model.Tokenization;
using static TorchSharp.torch;

namespace Moe.Model.Evaluation;

/// <summary>One scored problem: what the model saw, what it wrote (up to the first newline), and the verdict.</summary>
/// <param name="Predicted">The integer read from the completion, or null when it holds none.</param>
public sealed record ArithmeticExample(string Prompt, string Completion, string Answer, long? Predicted, bool Correct);

/// <summary>Exact-match accuracy on the first <see cref="Problems"/> problems of <see cref="SyntheticArithmetic"/>(seed).</summary>
public sealed record ArithmeticResult(int Problems, int Correct, long Seed, int MaxOperand, IReadOnlyList<ArithmeticExample> Examples)
{
    public double ExactMatch => Problems == 0 ? 0 : (double)Correct / Problems;
}

/// <summary>
/// Arithmetic exact match, the way scheduled evaluations (and later SFT and GRPO runs) ask the question and read the
/// answer: the prompt is <c>Question: What is 12 + 30?\nAnswer:</c>, the model continues greedily for at most
/// <see cref="MaxNewTokens"/> tokens, stopping at a newline or end-of-sequence, and the first integer of that completion
/// must equal the exact answer. Docs: docs/evaluation.md.
/// </summary>
public static partial class ArithmeticEval
{
    public const int MaxNewTokens = 12;
    public const int ExampleCount = 5;

    /// <summary>The prompt for a problem: question line, then "Answer:" for the model to complete.</summary>
    public static string Prompt(ArithmeticProblem problem) => $"Question: {problem.Prompt}\nAnswer:";

    /// <summary>
    /// The first integer in a completion: a run of ASCII digits, negative when a minus sign comes right before it
    /// (<c>-7 apples</c> gives -7, <c>The answer is 126</c> 126). Unlike <see cref="SyntheticArithmetic.ExtractAnswer"/>,
    /// which reads the last number of a worked solution, a short answer's first number is its answer; anything the model
    /// writes after it does not count. No separators: <c>4 2</c> is 4. Null when there is no integer (or it overflows).
    /// </summary>
    public static long? FirstInteger(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var m = IntegerPattern().Match(completion);
        return m.Success && long.TryParse(m.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    /// <summary>True when the completion's first integer is the exact answer.</summary>
    public static bool Score(string completion, ArithmeticProblem problem) => FirstInteger(completion) == problem.Value;

    /// <summary>Greedy completions of the first <paramref name="count"/> problems of <paramref name="seed"/>, scored.</summary>
    public static ArithmeticResult Evaluate(
        MoeTransformer model, BpeTokenizer tokenizer, long seed, int count, int maxOperand, Device device)
    {
        var problems = SyntheticArithmetic.Generate(seed, count, maxOperand);
        var examples = new List<ArithmeticExample>(problems.Count);
        foreach (var problem in problems)
        {
            var prompt = Prompt(problem);
            // BOS first, as `moe-trainer sample` starts a prompt.
            var ids = new List<int> { SpecialTokens.BosId };
            ids.AddRange(tokenizer.Encode(prompt));
            var options = new SamplingOptions(MaxNewTokens, Temperature: 0, StopToken: SpecialTokens.EosId,
                StopWhen: generated => tokenizer.Decode(generated.ToArray()).Contains('\n'), VocabLimit: tokenizer.VocabSize);
            var generated = TextGenerator.Generate(model, ids, options, device).Where(t => t != SpecialTokens.EosId).ToArray();
            var completion = tokenizer.Decode(generated).Split('\n')[0];
            var predicted = FirstInteger(completion);
            examples.Add(new ArithmeticExample(prompt, completion, problem.Answer, predicted, predicted == problem.Value));
        }
        return new ArithmeticResult(problems.Count, examples.Count(e => e.Correct), seed, maxOperand, examples.Take(ExampleCount).ToList());
    }

    [GeneratedRegex(@"-?[0-9]+")]
    private static partial Regex IntegerPattern();
}
