using Moe.Model.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Moe.Model.Data;

namespace Moe.Model.Tokenization;

/// <summary>
/// The files Python loads: Hugging Face's <c>tokenizer.json</c> (<c>tokenizers.Tokenizer.from_file</c>, or
/// <c>PreTrainedTokenizerFast(tokenizer_file=...)</c>) and GPT-2's <c>vocab.json</c> + <c>merges.txt</c>. Writing is
/// canonical (fixed key order, vocab in id order, merges in rank order), so the bytes, and the vocabulary hash taken over
/// them, depend only on the vocabulary.
/// </summary>
public static class TokenizerJson
{
    // Keeps 'Ġ' and '<|eos|>' readable in the file rather than \u0120 and \u003C; still valid JSON.
    static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Serialize(BpeVocabulary vocabulary)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            json.WriteStartArray("added_tokens");
            for (var id = 0; id < SpecialTokens.Count; id++)
            {
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("content", vocabulary.Tokens[id]);
                json.WriteBoolean("single_word", false);
                json.WriteBoolean("lstrip", false);
                json.WriteBoolean("rstrip", false);
                json.WriteBoolean("normalized", false);
                json.WriteBoolean("special", true);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNull("normalizer");
            WriteByteLevel(json, "pre_tokenizer");
            json.WriteNull("post_processor"); // ByteLevel's post-processor only trims offsets; ids are the same without it.
            WriteByteLevel(json, "decoder");
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteNull("dropout");
            json.WriteNull("unk_token"); // every byte is a token, so nothing is unknown
            json.WriteNull("continuing_subword_prefix");
            json.WriteNull("end_of_word_suffix");
            json.WriteBoolean("fuse_unk", false);
            json.WriteBoolean("byte_fallback", false);
            json.WriteBoolean("ignore_merges", false);
            WriteVocab(json, vocabulary, "vocab");
            json.WriteStartArray("merges");
            // "left right" strings: read by every tokenizers version (byte-level tokens never contain a space).
            foreach (var (left, right, _) in vocabulary.Merges) json.WriteStringValue($"{vocabulary.Tokens[left]} {vocabulary.Tokens[right]}");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    public static void Save(BpeVocabulary vocabulary, string path) => AtomicFile.WriteAllBytes(path, Serialize(vocabulary));

    /// <summary>GPT-2's pair of files: <c>vocab.json</c> (token to id, specials included) and <c>merges.txt</c>.</summary>
    public static void SaveGpt2Files(BpeVocabulary vocabulary, string directory)
    {
        using (var stream = new MemoryStream())
        {
            using (var json = new Utf8JsonWriter(stream, WriterOptions)) WriteVocab(json, vocabulary, propertyName: null);
            AtomicFile.WriteAllBytes(Path.Combine(directory, "vocab.json"), stream.ToArray());
        }
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right, _) in vocabulary.Merges) merges.Append(vocabulary.Tokens[left]).Append(' ').Append(vocabulary.Tokens[right]).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(directory, "merges.txt"), merges.ToString());
    }

    static void WriteByteLevel(Utf8JsonWriter json, string propertyName)
    {
        json.WriteStartObject(propertyName);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("trim_offsets", true);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
    }

    static void WriteVocab(Utf8JsonWriter json, BpeVocabulary vocabulary, string? propertyName)
    {
        if (propertyName is null) json.WriteStartObject(); else json.WriteStartObject(propertyName);
        for (var id = 0; id < vocabulary.Size; id++) json.WriteNumber(vocabulary.Tokens[id], id);
        json.WriteEndObject();
    }
}
