using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Moe.Platform.Storage.Metadata;

namespace Moe.Web.Tests;

/// <summary>
/// What fuzzing the API found (each was a 500 or a stored bad value): every one is now a 4xx naming the field, and the
/// request leaves no record behind.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class HostileInputTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/api/v1/datasets/%20", "dataset_id")]
    [InlineData("/api/v1/datasets/Upper", "dataset_id")]
    [InlineData("/api/v1/runs/a%20b", "run_id")]
    [InlineData("/api/v1/experiments/-starts-with-dash", "experiment_id")]
    [InlineData("/api/v1/projects/%E2%80%AEevil/members", "project_id")]
    [InlineData("/api/v1/models/%20/versions/1", "model")]
    [InlineData("/api/v1/models/m/versions/%20", "version")]
    public async Task A_malformed_id_in_a_route_is_a_400_naming_it(string url, string field)
    {
        using var response = await app.Admin.GetAsync(url, Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task A_malformed_id_is_refused_for_every_route_id_parameter_the_api_has()
    {
        var document = await app.Admin.GetJsonAsync("/openapi/v1.json");
        var inRoutes = document["paths"]!.AsObject().Select(p => p.Key)
            .SelectMany(path => System.Text.RegularExpressions.Regex.Matches(path, @"\{(\w+)\}").Select(m => m.Groups[1].Value)).ToHashSet();
        // Typed by route constraints (GUIDs, numbers): anything else does not match the route.
        inRoutes.ExceptWith(["id", "version", "step"]);
        Assert.Empty(inRoutes.Except(Moe.Web.Apis.RouteIds.Names));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/json; charset=utf-8, utf-16")]
    public async Task A_json_route_answers_another_content_type_with_a_415_naming_it(string contentType)
    {
        var counts = RecordCounts();
        var content = new StringContent("""{"project": "default", "name": "content-type"}""");
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await app.Admin.PostAsync("/api/v1/experiments", content, Ct);
        await response.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType, "content_type");
        Assert.Equal(counts, RecordCounts());
    }

    [Theory]
    [InlineData("bogus-9")]
    [InlineData("utf-7")] // known to .NET, and disabled: asking for it throws NotSupportedException
    public async Task A_body_in_an_unknown_or_disabled_charset_is_a_415(string charset)
    {
        var counts = RecordCounts();
        var content = new StringContent("""{"project": "default", "name": "charset"}""");
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"application/json; charset={charset}");
        using var response = await app.Admin.PostAsync("/api/v1/experiments", content, Ct);
        var problem = await response.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType, "content_type");
        Assert.Contains(charset, problem["detail"]!.GetValue<string>());
        Assert.Equal(counts, RecordCounts());
    }

    [Fact]
    public async Task A_quoted_charset_is_read_as_the_charset()
    {
        var name = Names.Unique("quoted");
        var content = new StringContent($$"""{"project": "default", "name": "{{name}}"}""");
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=\"utf-8\"");
        using var response = await app.Admin.PostAsync("/api/v1/experiments", content, Ct);
        Assert.Equal(name, (await response.ExpectJsonAsync(HttpStatusCode.Created)).Str("name"));
    }

    [Theory]
    [InlineData("""{"project": "default", "name": "one", "name": "two"}""", "name")]
    [InlineData("""{"project": "default", "name": "x", "project": "default"}""", "project")]
    public async Task Duplicate_keys_in_a_body_are_refused_naming_the_key(string body, string key)
    {
        var counts = RecordCounts();
        using var response = await app.Admin.PostAsync("/api/v1/experiments", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(key, problem["detail"]!.GetValue<string>());
        Assert.Equal(counts, RecordCounts());
    }

    [Theory]
    [InlineData("""{"training": null}""", "config.training")]
    [InlineData("""{"model": null}""", "config.model")]
    [InlineData("""{"data.datasets": [null]}""", "config.data.datasets[0]")]
    [InlineData("""{"training.lr": 1e400}""", "config.training.lr")]
    [InlineData("""{"model.moe.num_experts": 100000, "data.datasets[0].path": "/data/local"}""", "config.model.moe.num_experts")]
    [InlineData("""{"tokenizer": "a\u0000b", "data.datasets[0].path": "/data/local"}""", "config.tokenizer")]
    [InlineData("""{"model.n_layers": 2147483647, "model.moe.every": 2147483647, "data.datasets[0].path": "/data/local"}""", "config.model.n_layers")]
    public Task A_run_config_with_null_non_finite_or_absurd_values_is_refused_naming_the_field(string overrides, string field) =>
        LaunchIsRefusedAsync($"\"overrides\": {overrides}", field);

    [Fact]
    public async Task A_config_naming_a_key_twice_and_an_override_path_of_thousands_of_parts_are_refused()
    {
        var experiment = await app.NewExperimentAsync("default", "hostile");
        var counts = RecordCounts();
        var twice = "{\"experiment_id\": \"" + experiment + "\", \"config\": {\"model\": \"default\", \"model\": {\"d_model\": 8}}}";
        using (var response = await app.Admin.PostAsync("/api/v1/runs", new StringContent(twice, Encoding.UTF8, "application/json"), Ct))
            Assert.Contains("model", (await response.ExpectProblemAsync(HttpStatusCode.BadRequest))["detail"]!.GetValue<string>());

        var deep = string.Join('.', Enumerable.Repeat("a", 5000));
        using (var response = await app.Admin.PostJsonAsync("/api/v1/runs",
                   new { experiment_id = experiment, preset = "tiny-cpu", overrides = new Dictionary<string, int> { [deep] = 1 } }))
            await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "overrides");
        Assert.Equal(counts, RecordCounts());
    }

    [Theory]
    [InlineData("""{"gpus": 2147483647}""", "resources")]
    [InlineData("""{"gpus": 1, "gpu_memory_gb": 1e300}""", "resources.gpu_memory_gb")]
    [InlineData("""{"gpus": 1, "gpu_memory_gb": 1e400}""", "resources.gpu_memory_gb")]
    [InlineData("""{"gpus": 1, "gpu_memory_gb": "NaN"}""", "resources.gpu_memory_gb")]
    public Task Resources_no_worker_can_meet_or_non_finite_are_refused(string resources, string field) =>
        LaunchIsRefusedAsync($"\"resources\": {resources}", field);

    /// <summary>POST /runs of the tiny-cpu preset with <paramref name="property"/> (raw JSON) is a 400 naming the field, storing nothing.</summary>
    async Task LaunchIsRefusedAsync(string property, string field)
    {
        var experiment = await app.NewExperimentAsync("default", "hostile");
        var counts = RecordCounts();
        var body = $$"""{"experiment_id": "{{experiment}}", "preset": "tiny-cpu", {{property}}}""";
        using var response = await app.Admin.PostAsync("/api/v1/runs", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Equal(counts, RecordCounts());
    }

    [Fact]
    public async Task Max_retries_and_priority_are_bounded()
    {
        var experiment = await app.NewExperimentAsync("default", "hostile");
        using (var response = await app.Admin.PostJsonAsync("/api/v1/runs", new { experiment_id = experiment, preset = "tiny-cpu", max_retries = int.MaxValue }))
            await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "max_retries");
        using (var response = await app.Admin.PostJsonAsync("/api/v1/runs", new { experiment_id = experiment, preset = "tiny-cpu", priority = int.MinValue }))
            await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "priority");
    }

    [Theory]
    [InlineData("""{"role": 99}""")]
    [InlineData("""{"role": "3"}""")]
    [InlineData("""{"role": "member, admin"}""")] // System.Text.Json's enum converter ORs these into 3, a role no check knows
    [InlineData("""{"role": " admin"}""")]
    public async Task A_role_given_other_than_by_its_name_is_refused_and_nothing_is_stored(string body)
    {
        var user = await app.NewUserAsync("numeric-role");
        var project = await app.NewProjectAsync("numeric-role");
        var counts = RecordCounts();
        using var response = await app.Admin.PutAsync($"/api/v1/projects/{project}/members/{user.Name}",
            new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "role");
        Assert.Equal(counts, RecordCounts());
        using var asUser = await user.Api.GetAsync($"/api/v1/projects/{project}/members", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, asUser.StatusCode); // no role at all, let alone an admin's
    }

    [Fact]
    public async Task A_stored_role_without_a_name_grants_nothing_and_is_listed_as_its_number()
    {
        var user = await app.NewUserAsync("stored-role");
        var project = await app.NewProjectAsync("stored-role", (user, "viewer"));
        await using (var db = app.NewDb()) // as a row written before roles were read by name only
        {
            var member = await db.ProjectMembers.SingleAsync(m => m.ProjectId == project, Ct);
            member.Role = (ProjectRole)99;
            await db.SaveChangesAsync(Ct);
        }

        await (await user.Api.GetAsync($"/api/v1/projects/{project}/members", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Empty((await user.Api.GetJsonAsync("/api/v1/me"))["projects"]!.AsObject());
        // The project's admins still see the row (to set a real role), and the rest of the list.
        var listed = Assert.Single((await app.Admin.GetJsonAsync($"/api/v1/projects/{project}/members")).Arr(), m => m.Str("user_name") == user.Name);
        Assert.Equal(99, listed!["role"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("2")]
    [InlineData("running,1")]
    public async Task Statuses_in_a_filter_are_read_by_name_only(string status)
    {
        using var response = await app.Admin.GetAsync($"/api/v1/runs?status={Uri.EscapeDataString(status)}", Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "status");
        await app.Admin.GetJsonAsync("/api/v1/runs?status=Running,%20queued"); // names, in any case, with spaces around commas
    }

    [Fact]
    public async Task Multipart_without_a_boundary_or_cut_short_is_a_400_and_stores_nothing()
    {
        var dataset = Names.Unique("multipart");
        await (await app.Admin.PostJsonAsync("/api/v1/datasets", new { id = dataset })).ExpectAsync(HttpStatusCode.Created);
        var counts = RecordCounts();
        var artifacts = ArtifactFiles();

        var noBoundary = new StringContent("--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nhello\r\n--x--\r\n");
        noBoundary.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data");
        using (var response = await app.Admin.PostAsync($"/api/v1/datasets/{dataset}/versions", noBoundary, Ct))
            await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "files");

        var truncated = new StringContent("--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nhello wor");
        truncated.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");
        using (var response = await app.Admin.PostAsync($"/api/v1/datasets/{dataset}/versions", truncated, Ct))
            await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "files");

        Assert.Equal(counts, RecordCounts());
        Assert.Equal(artifacts, ArtifactFiles());
    }

    [Theory]
    [InlineData("""{"corpus": "brown", "dataset_id": "DATASET", "tokenizer_vocab": 5}""", "tokenizer_vocab")]
    [InlineData("""{"corpus": "brown", "dataset_id": "DATASET", "validation_fraction": 7}""", "validation_fraction")]
    public async Task A_refused_built_in_corpus_creates_no_dataset(string template, string field)
    {
        var dataset = Names.Unique("builtin");
        var counts = RecordCounts();
        using var response = await app.Admin.PostAsync("/api/v1/datasets/builtin",
            new StringContent(template.Replace("DATASET", dataset), Encoding.UTF8, "application/json"), Ct);
        // A server without the corpora says so first; either way no dataset may appear.
        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(problem["field"]!.GetValue<string>(), new[] { field, "corpus" });
        Assert.Equal(counts, RecordCounts());
        using var lookup = await app.Admin.GetAsync($"/api/v1/datasets/{dataset}", Ct);
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Theory]
    [InlineData("nul\u0000inside", "name")]
    [InlineData("two\r\nlines", "name")]
    public async Task Names_with_control_characters_are_refused(string name, string field)
    {
        var counts = RecordCounts();
        using var response = await app.Admin.PostJsonAsync("/api/v1/experiments", new { project = "default", name });
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Equal(counts, RecordCounts());
    }

    [Fact]
    public async Task Long_text_is_refused_and_multi_line_descriptions_are_kept()
    {
        using (var response = await app.Admin.PostJsonAsync("/api/v1/experiments", new { project = "default", name = "n", description = new string('x', 5000) }))
            await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "description");
        using (var response = await app.Admin.PostJsonAsync("/api/v1/experiments", new { project = "default", name = new string('n', 201) }))
            await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "name");
        var created = await (await app.Admin.PostJsonAsync("/api/v1/experiments",
            new { project = "default", name = Names.Unique("multi"), description = "line one\r\nline two" })).ExpectJsonAsync(HttpStatusCode.Created);
        Assert.Equal("line one\nline two", created["description"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("a", "long-enough-password", "user_name")]
    [InlineData("valid-name", "        ", "password")]
    [InlineData("valid-name", "            ", "password")]
    [InlineData("valid-name", "\0\0\0\0\0\0\0\0\0\0\0\0", "password")]
    [InlineData("valid-name", "aaaaaaaaaaaaaaaa", "password")]
    [InlineData("valid-name", "short-pw", "password")]
    public async Task Weak_passwords_and_too_short_user_names_are_refused(string userName, string password, string field)
    {
        var counts = RecordCounts();
        using var response = await app.Admin.PostJsonAsync("/api/v1/users", new { user_name = userName == "valid-name" ? Names.Unique("user") : userName, password });
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Equal(counts, RecordCounts());
    }

    RecordSnapshot RecordCounts()
    {
        using var counter = new RecordCounter(app);
        return counter.Snapshot();
    }

    string[] ArtifactFiles()
    {
        var root = Path.Combine(app.DataDirectory, "artifacts");
        return Directory.Exists(root) ? [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order()] : [];
    }
}
