using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Trainer;

/// <summary>One-line JSON for the commands whose output other processes parse.</summary>
public static class JsonOutput
{
    // Relaxed escaping: prompts and token texts keep '+', '<' and '\'' readable (still valid JSON; nothing embeds it in HTML).
    static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize(JsonNode node) => node.ToJsonString(Options);
}
