namespace Moe.Model.Tokenization;

/// <summary>
/// The special tokens every tokenizer of the platform carries, at fixed ids 0..<see cref="Count"/>-1 ahead of the 256 byte
/// tokens and the merges, so their ids never depend on the vocabulary size. Encoding recognises them in text (chat
/// templates and GRPO's reasoning format write them literally); ordinary text that merely contains the same characters
/// cannot be told apart, as in every Hugging Face tokenizer with added special tokens.
/// </summary>
public static class SpecialTokens
{
    public const string Pad = "<|pad|>";
    public const string Bos = "<|bos|>";
    /// <summary>End of a document; also the document separator in prepared datasets.</summary>
    public const string Eos = "<|eos|>";
    public const string System = "<|system|>";
    public const string User = "<|user|>";
    public const string Assistant = "<|assistant|>";
    /// <summary>End of one chat turn.</summary>
    public const string EndOfTurn = "<|end|>";
    // DeepSeek-R1's reasoning format: <think> reasoning </think> <answer> final answer </answer>.
    public const string ThinkStart = "<think>";
    public const string ThinkEnd = "</think>";
    public const string AnswerStart = "<answer>";
    public const string AnswerEnd = "</answer>";

    /// <summary>All special tokens in id order: <c>All[i]</c> has id i.</summary>
    public static readonly IReadOnlyList<string> All =
        [Pad, Bos, Eos, System, User, Assistant, EndOfTurn, ThinkStart, ThinkEnd, AnswerStart, AnswerEnd];

    public static int Count => All.Count;
    public const int PadId = 0;
    public const int BosId = 1;
    public const int EosId = 2;

    public static int IdOf(string token)
    {
        for (var i = 0; i < All.Count; i++) if (All[i] == token) return i;
        throw new ArgumentException($"'{token}' is not a special token", nameof(token));
    }
}

/// <summary>Renders chat messages as one training text: <c>&lt;|user|&gt;\n{content}&lt;|end|&gt;\n</c> per turn.</summary>
public static class ChatTemplate
{
    public static readonly IReadOnlyList<string> Roles = ["system", "user", "assistant"];

    public static string RoleToken(string role) => role switch
    {
        "system" => SpecialTokens.System,
        "user" => SpecialTokens.User,
        "assistant" => SpecialTokens.Assistant,
        _ => throw new ArgumentException($"role '{role}' is not one of {string.Join(", ", Roles)}", nameof(role)),
    };

    public static string Render(IEnumerable<(string Role, string Content)> messages) =>
        string.Concat(messages.Select(m => $"{RoleToken(m.Role)}\n{m.Content}{SpecialTokens.EndOfTurn}\n"));

    /// <summary>The prompt for generation: the turns so far, then the assistant's role token.</summary>
    public static string RenderPrompt(IEnumerable<(string Role, string Content)> messages) =>
        Render(messages) + SpecialTokens.Assistant + "\n";
}
