using Moe.Model.IO;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Moe.Model.Tokenization;

namespace Moe.Model.Data;

public enum ArithmeticKind { Add, Subtract, Multiply, MultiStep }

/// <summary>
/// One question with its exact answer and a worked solution, e.g. "What is (12 + 30) * 3?", "126" and the steps
/// "12 + 30 = 42" and "42 * 3 = 126" (one a line, in the order a person would compute them).
/// </summary>
public sealed record ArithmeticProblem(ArithmeticKind Kind, string Expression, string Prompt, string Answer, long Value, string Solution);

/// <summary>
/// Deterministic arithmetic questions for GRPO rewards, supervised warm-up data and evaluations: the same seed gives the
/// same sequence on every run and runtime (SplitMix64, no <see cref="Random"/>). Operands are 0..<see cref="MaxOperand"/>,
/// multiplication factors 1..<see cref="MaxFactor"/>; multi-step questions combine two or three operations with the usual
/// precedence (parentheses where written). Answers may be negative; all are exact integers.
/// </summary>
public sealed partial class SyntheticArithmetic
{
    public const int MaxFactor = 12;
    static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    SplitMix64 rng;

    public int MaxOperand { get; }

    public SyntheticArithmetic(long seed, int maxOperand = 99)
    {
        if (maxOperand < 1) throw new ArgumentOutOfRangeException(nameof(maxOperand), "operands need a maximum of at least 1");
        // Operands up to ~10^9 keep every answer (at most 3 operands, one factor of 12) far inside a long.
        if (maxOperand > 1_000_000_000) throw new ArgumentOutOfRangeException(nameof(maxOperand), "operands above 10^9 are not supported");
        MaxOperand = maxOperand;
        rng = new SplitMix64(unchecked((ulong)seed ^ 0xD1B54A32D192ED03UL));
    }

    /// <summary>The first <paramref name="count"/> problems of <paramref name="seed"/>.</summary>
    public static IReadOnlyList<ArithmeticProblem> Generate(long seed, int count, int maxOperand = 99)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var g = new SyntheticArithmetic(seed, maxOperand);
        return Enumerable.Range(0, count).Select(_ => g.Next()).ToArray();
    }

    public ArithmeticProblem Next() => Next((ArithmeticKind)(int)rng.NextBelow(4));

    public ArithmeticProblem Next(ArithmeticKind kind)
    {
        // Always the same draws in the same order, whatever the kind, so a sequence never depends on evaluation order.
        long a = Operand(), b = Operand(), c = Operand(), k = (long)rng.NextBelow(MaxFactor) + 1;
        var form = (int)rng.NextBelow(4);
        var (expression, steps) = kind switch
        {
            ArithmeticKind.Add => ($"{a} + {b}", new[] { Step(a, '+', b) }),
            ArithmeticKind.Subtract => ($"{a} - {b}", [Step(a, '-', b)]),
            ArithmeticKind.Multiply => ($"{a} * {k}", [Step(a, '*', k)]),
            ArithmeticKind.MultiStep => MultiStep(a, b, c, k, form),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var value = steps[^1].Result;
        return new ArithmeticProblem(kind, expression, $"What is {expression}?", Format(value), value,
            string.Join("\n", steps.Select(s => s.Text)));
    }

    static (string, (string Text, long Result)[]) MultiStep(long a, long b, long c, long k, int form)
    {
        switch (form)
        {
            case 0:
                var s0 = Step(a, '+', b);
                return ($"{a} + {b} - {c}", [s0, Step(s0.Result, '-', c)]);
            case 1:
                var s1 = Step(a, '+', b);
                return ($"({a} + {b}) * {k}", [s1, Step(s1.Result, '*', k)]);
            case 2:
                var s2 = Step(a, '*', k);
                return ($"{a} * {k} - {b}", [s2, Step(s2.Result, '-', b)]);
            default:
                // Multiplication first, then left to right.
                var p = Step(c, '*', k);
                var d = Step(a, '-', b);
                return ($"{a} - {b} + {c} * {k}", [p, d, Step(d.Result, '+', p.Result)]);
        }
    }

    static (string Text, long Result) Step(long x, char op, long y)
    {
        var r = op switch { '+' => x + y, '-' => x - y, '*' => x * y, _ => throw new ArgumentOutOfRangeException(nameof(op)) };
        return ($"{Format(x)} {op} {Format(y)} = {Format(r)}", r);
    }

    static string Format(long v) => v.ToString(CultureInfo.InvariantCulture);

    long Operand() => (long)rng.NextBelow((ulong)MaxOperand + 1);

    // ------------------------------------------------------------------ training text

    /// <summary>The target completion in DeepSeek-R1's format: <c>&lt;think&gt;\nsteps\n&lt;/think&gt;\n&lt;answer&gt;N&lt;/answer&gt;</c>.</summary>
    public static string Completion(ArithmeticProblem problem) =>
        $"{SpecialTokens.ThinkStart}\n{problem.Solution}\n{SpecialTokens.ThinkEnd}\n{SpecialTokens.AnswerStart}{problem.Answer}{SpecialTokens.AnswerEnd}";

    /// <summary>
    /// Writes <paramref name="count"/> problems of <paramref name="seed"/> as JSON lines <c>{"prompt","completion"}</c>
    /// (atomically). The prompt is the question and a newline, so prompt + completion, as <see cref="DocumentReader"/>
    /// joins them, reads as a question line followed by the reasoning.
    /// </summary>
    public static void WriteJsonLines(string path, long seed, int count, int maxOperand = 99)
    {
        var sb = new StringBuilder();
        foreach (var p in Generate(seed, count, maxOperand))
            sb.Append(JsonSerializer.Serialize(new PromptCompletion(p.Prompt + "\n", Completion(p)), Json)).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    sealed record PromptCompletion(
        [property: System.Text.Json.Serialization.JsonPropertyName("prompt")] string Prompt,
        [property: System.Text.Json.Serialization.JsonPropertyName("completion")] string Completion);

    // ------------------------------------------------------------------ verification

    /// <summary>
    /// The number a model's completion gives as its answer: inside the last <c>&lt;answer&gt;</c> (up to
    /// <c>&lt;/answer&gt;</c> or the end of a cut-off completion) when there is one, else anywhere; in either case the last
    /// number there. Thousands separators (<c>1,234</c>) are accepted; a minus sign counts only where it is not a
    /// subtraction (<c>10 - 3</c> gives 3, <c>is -7</c> gives -7). Null when there is no number or the number is not whole.
    /// </summary>
    public static long? ExtractAnswer(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var region = completion;
        var open = completion.LastIndexOf(SpecialTokens.AnswerStart, StringComparison.Ordinal);
        if (open >= 0)
        {
            region = completion[(open + SpecialTokens.AnswerStart.Length)..];
            var close = region.IndexOf(SpecialTokens.AnswerEnd, StringComparison.Ordinal);
            if (close >= 0) region = region[..close];
        }
        var numbers = NumberPattern().Matches(region);
        if (numbers.Count == 0) return null;
        var last = numbers[^1];
        if (last.Groups["frac"].Success && last.Groups["frac"].Value.Trim('.', '0').Length > 0) return null;
        var digits = last.Groups["sign"].Value + last.Groups["int"].Value.Replace(",", "");
        return long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    /// <summary>True when the answer <see cref="ExtractAnswer"/> finds equals the problem's exact answer (for rewards).</summary>
    public static bool IsCorrect(ArithmeticProblem problem, string completion) => ExtractAnswer(completion) == problem.Value;

    // A number not glued to a preceding digit, point or comma; "-" is a sign unless a digit or ")" comes before it.
    [GeneratedRegex(@"(?<![\d.,])(?<sign>(?<![\d)]\s*)-)?(?<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?<frac>\.\d+)?")]
    private static partial Regex NumberPattern();
}
