using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Web.Tests;

/// <summary>JSON over HTTP as the API speaks it (snake_case), and assertions on answers and RFC 7807 problems.</summary>
public static class Http
{
    /// <summary>Requests are written snake_case, as the API expects; answers are read as JsonNode, names as sent.</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, object? body) =>
        client.PostAsync(url, JsonContent.Create(body, body?.GetType() ?? typeof(object), options: Json), Ct);

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string url, object body) =>
        client.PutAsync(url, JsonContent.Create(body, body.GetType(), options: Json), Ct);

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string url, object body) =>
        client.PatchAsync(url, JsonContent.Create(body, body.GetType(), options: Json), Ct);

    /// <summary>GET, expecting 200 and JSON.</summary>
    public static async Task<JsonNode> GetJsonAsync(this HttpClient client, string url) =>
        await (await client.GetAsync(url, Ct)).ExpectJsonAsync(HttpStatusCode.OK);

    /// <summary>Asserts the status (showing the body when it differs) and returns the body.</summary>
    public static async Task<string> ExpectAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)status} {status}, got {(int)response.StatusCode} {response.StatusCode}: {body}"
            + (response.StatusCode == HttpStatusCode.InternalServerError ? "\nserver errors:\n" + ServerErrors.Recent() : ""));
        return body;
    }

    public static async Task<JsonNode> ExpectJsonAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.ExpectAsync(status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body) ?? throw new InvalidOperationException("the body is JSON null");
    }

    /// <summary>
    /// Asserts an RFC 7807 problem with this status; with <paramref name="field"/>, that it names the field in
    /// <c>field</c> and in <c>errors</c>. Returns the problem.
    /// </summary>
    public static async Task<JsonNode> ExpectProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var body = await response.ExpectAsync(status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal((int)status, problem["status"]?.GetValue<int>());
        if (field is not null)
        {
            Assert.True(problem["field"]?.GetValue<string>() == field, $"expected the problem to name '{field}': {body}");
            var errors = problem["errors"]?[field]?.AsArray();
            Assert.True(errors is { Count: > 0 }, $"expected errors.{field}: {body}");
        }
        return problem;
    }

    public static string Str(this JsonNode? node, string name) =>
        node?[name]?.GetValue<string>() ?? throw new InvalidOperationException($"no string '{name}' in {node?.ToJsonString()}");

    public static long Long(this JsonNode? node, string name) =>
        node?[name]?.GetValue<long>() ?? throw new InvalidOperationException($"no number '{name}' in {node?.ToJsonString()}");

    public static JsonArray Arr(this JsonNode? node, string? name = null) =>
        (name is null ? node : node?[name])?.AsArray() ?? throw new InvalidOperationException($"no array '{name}' in {node?.ToJsonString()}");

    /// <summary>A multipart body with the given files under 'files'.</summary>
    public static MultipartFormDataContent Files(params (string Name, string Text)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, text) in files)
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(content, "files", name);
        }
        return form;
    }
}

/// <summary>Polling with a deadline.</summary>
public static class Poll
{
    /// <summary>Calls <paramref name="probe"/> until it returns non-null; fails with <paramref name="what"/> and the last value on timeout.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (value is not null) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what} (after {timeout})");
            await Task.Delay(150, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Polls GET /api/v1/runs/{id} until its status is one of <paramref name="statuses"/>; fails with its history otherwise.</summary>
    public static async Task<JsonNode> RunAsync(HttpClient client, string runId, TimeSpan timeout, params string[] statuses)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var run = await client.GetJsonAsync($"/api/v1/runs/{runId}");
            var status = run.Str("status");
            if (statuses.Contains(status)) return run;
            bool ended = status is "succeeded" or "failed" or "cancelled";
            if (ended || DateTime.UtcNow > deadline)
            {
                var history = await client.GetJsonAsync($"/api/v1/runs/{runId}/transitions");
                var logs = await client.GetJsonAsync($"/api/v1/runs/{runId}/logs?tail=20");
                Assert.Fail($"run {runId} is {status}, waiting for {string.Join("/", statuses)}; history:\n"
                    + string.Join("\n", history.Arr().Select(t => $"  {t.Str("from")} -> {t.Str("to")}: {t!["reason"]}"))
                    + "\nlog:\n" + string.Join("\n", logs.Arr().Select(l => "  " + l.Str("line"))));
            }
            await Task.Delay(150, TestContext.Current.CancellationToken);
        }
    }
}

/// <summary>Ids unique per test (platform ids: lower-case letters, digits, '-').</summary>
public static class Names
{
    public static string Unique(string stem) => $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 9)];
}

/// <summary>Tiny corpora of real-ish English, as JSON lines ({"text": ...}).</summary>
public static class Corpus
{
    static readonly string[] Subjects =
        ["the old man", "a young woman", "the committee", "the jury", "my neighbour", "the farmer", "the teacher", "a small child",
         "the mayor", "the captain", "our family", "the doctor", "the governor", "a stranger", "the students"];
    static readonly string[] Verbs =
        ["walked to", "looked at", "spoke about", "wrote to", "waited for", "thought about", "returned to", "argued with",
         "listened to", "worked near", "asked about", "laughed at", "painted", "visited", "remembered"];
    static readonly string[] Objects =
        ["the river", "the new school", "the city hall", "a long letter", "the quiet house", "the morning train", "the election",
         "the green field", "the church", "an empty road", "the evening news", "the garden", "the market", "the hospital", "the bridge"];
    static readonly string[] Endings =
        ["in the morning", "after the rain", "before dinner", "with great care", "without a word", "late at night", "last summer",
         "on sunday", "for many years", "as usual", "once again", "at last"];

    /// <summary><paramref name="count"/> documents of three to six sentences, as JSON lines.</summary>
    public static IEnumerable<string> Documents(int seed, int count)
    {
        var rng = new Random(seed);
        string Pick(string[] words) => words[rng.Next(words.Length)];
        for (int i = 0; i < count; i++)
        {
            var sentences = Enumerable.Range(0, rng.Next(3, 7)).Select(_ =>
            {
                var s = $"{Pick(Subjects)} {Pick(Verbs)} {Pick(Objects)} {Pick(Endings)}.";
                return char.ToUpperInvariant(s[0]) + s[1..];
            });
            yield return new JsonObject { ["text"] = string.Join(" ", sentences) }.ToJsonString();
        }
    }

    /// <summary>A multipart upload of the files (name and lines).</summary>
    public static MultipartFormDataContent Upload(params (string Name, IEnumerable<string> Lines)[] files) =>
        Http.Files([.. files.Select(f => (f.Name, string.Join("\n", f.Lines) + "\n"))]);
}

/// <summary>Run launches on the tiny-cpu preset, shrunk to a few seconds of training on a platform dataset.</summary>
public static class Runs
{
    /// <summary>
    /// POST /api/v1/runs body: preset tiny-cpu on <c>dataset:&lt;id&gt;</c>, vocab 300, seq 32, batch 4, an eval and a
    /// checkpoint every <paramref name="every"/> steps (keep_last stays the preset's 2).
    /// </summary>
    public static object Launch(string experimentId, string datasetId, int steps, int every = 4, Dictionary<string, object>? more = null, string? name = null)
    {
        var overrides = new Dictionary<string, object>
        {
            ["model.vocab_size"] = 300, ["training.steps"] = steps, ["training.seq_len"] = 32, ["training.batch_size"] = 4,
            ["training.warmup_steps"] = 2, ["training.eval_every"] = every, ["training.checkpoint_every"] = every,
            ["training.eval_windows"] = 8, ["data.datasets[0].path"] = $"dataset:{datasetId}",
        };
        foreach (var (key, value) in more ?? []) overrides[key] = value;
        return new { experiment_id = experimentId, preset = "tiny-cpu", name, overrides, max_retries = 0 };
    }
}
