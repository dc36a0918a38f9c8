using System.Text.Json;

namespace Moe.Model.Tokenization;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> holding a byte-level BPE with the platform's special tokens: the files
/// <see cref="TokenizerJson"/> writes, and equivalent ones from Python. Anything it cannot reproduce exactly (another
/// model type, a normaliser, a prefix space, other added tokens) is rejected with the file and the field named, rather
/// than encoded differently.
/// </summary>
static class TokenizerJsonReader
{
    public static BpeVocabulary Read(string path)
    {
        Exception Fail(string what) => new InvalidDataException($"{path}: {what}");
        JsonDocument document;
        try { document = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Fail("expected a JSON object at the top level");
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object) throw Fail("no \"model\" object");
            var type = OptionalString(model, "type");
            if (type != "BPE") throw Fail($"model.type is {(type is null ? "missing" : $"'{type}'")}; only \"BPE\" is supported");
            foreach (var field in new[] { "dropout", "continuing_subword_prefix", "end_of_word_suffix", "unk_token" })
                if (model.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null) throw Fail($"model.{field} must be null for byte-level BPE");
            foreach (var field in new[] { "byte_fallback", "ignore_merges" })
                if (model.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.True) throw Fail($"model.{field}: true is not supported");
            if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null) throw Fail("normalizer must be null");
            CheckByteLevel(root, "pre_tokenizer", Fail);
            CheckSpecialTokens(root, Fail);

            var tokens = ReadVocab(model, Fail);
            var idOf = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
            for (var id = 0; id < tokens.Length; id++) idOf[tokens[id]] = id;
            var merges = ReadMerges(model, idOf, Fail);
            return new BpeVocabulary(tokens, merges, Fail);
        }
    }

    static void CheckByteLevel(JsonElement root, string name, Func<string, Exception> fail)
    {
        if (!root.TryGetProperty(name, out var pre) || pre.ValueKind != JsonValueKind.Object || OptionalString(pre, "type") != "ByteLevel")
            throw fail($"{name} must be {{\"type\": \"ByteLevel\"}}");
        // Hugging Face's defaults: add_prefix_space true, use_regex true.
        if (!pre.TryGetProperty("add_prefix_space", out var prefix) || prefix.ValueKind != JsonValueKind.False)
            throw fail($"{name}.add_prefix_space must be false");
        if (pre.TryGetProperty("use_regex", out var regex) && regex.ValueKind != JsonValueKind.True)
            throw fail($"{name}.use_regex must be true");
    }

    static void CheckSpecialTokens(JsonElement root, Func<string, Exception> fail)
    {
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind != JsonValueKind.Array)
            throw fail("no \"added_tokens\" array");
        var seen = new HashSet<int>();
        foreach (var token in added.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Object || !token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out var id))
                throw fail("an added_tokens entry has no integer \"id\"");
            var content = OptionalString(token, "content");
            if (id < 0 || id >= SpecialTokens.Count || content != SpecialTokens.All[id])
                throw fail($"added token {id} '{content}' is not one of the platform's special tokens at its fixed id");
            if (!token.TryGetProperty("special", out var special) || special.ValueKind != JsonValueKind.True)
                throw fail($"added token '{content}' must have \"special\": true");
            seen.Add(id);
        }
        if (seen.Count != SpecialTokens.Count)
            throw fail($"added_tokens lacks {string.Join(", ", Enumerable.Range(0, SpecialTokens.Count).Where(i => !seen.Contains(i)).Select(i => SpecialTokens.All[i]))}");
    }

    static string[] ReadVocab(JsonElement model, Func<string, Exception> fail)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object) throw fail("no model.vocab object");
        var entries = new List<(string Token, int Id)>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out var id)) throw fail($"model.vocab['{entry.Name}'] is not an integer id");
            entries.Add((entry.Name, id));
        }
        var tokens = new string?[entries.Count];
        foreach (var (token, id) in entries)
        {
            if (id < 0 || id >= tokens.Length) throw fail($"model.vocab['{token}'] = {id}: ids must be 0..{tokens.Length - 1} (one per token)");
            if (tokens[id] is not null) throw fail($"model.vocab gives id {id} to both '{tokens[id]}' and '{token}'");
            tokens[id] = token;
        }
        return tokens!;
    }

    static List<(int Left, int Right, int Merged)> ReadMerges(JsonElement model, Dictionary<string, int> idOf, Func<string, Exception> fail)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array) throw fail("no model.merges array");
        var result = new List<(int, int, int)>(merges.GetArrayLength());
        var rank = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            // Two spellings: "left right" (GPT-2, tokenizers < 0.20) and ["left", "right"] (tokenizers >= 0.20).
            string[]? parts = merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString()!.Split(' '),
                JsonValueKind.Array when merge.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String) =>
                    merge.EnumerateArray().Select(p => p.GetString()!).ToArray(),
                _ => null,
            };
            if (parts is not { Length: 2 }) throw fail($"model.merges[{rank}] is not a pair of tokens (\"left right\" or [\"left\", \"right\"])");
            int Id(string token) => idOf.TryGetValue(token, out var id) ? id : throw fail($"model.merges[{rank}] uses '{token}', which is not in model.vocab");
            var (left, right, merged) = (Id(parts[0]), Id(parts[1]), Id(parts[0] + parts[1]));
            result.Add((left, right, merged));
            rank++;
        }
        return result;
    }

    static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
