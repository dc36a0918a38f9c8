using System.Net;
using System.Net.Http.Json;

namespace Moe.Web.Tests;

/// <summary>/api/v1/datasets: create, upload a version (multipart), tokenised in the background until ready; built-in corpora.</summary>
[Collection(WebAppCollection.Name)]
public sealed class DatasetsTests(WebApp app)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_uploaded_corpus_becomes_a_ready_version_with_its_own_tokenizer()
    {
        var member = await app.NewUserAsync("ds-member");
        await app.NewProjectAsync("ds", (member, "member"));
        var id = Names.Unique("corpus");

        using var created = await member.Api.PostJsonAsync("/api/v1/datasets", new { id, description = "English-ish" });
        var dataset = await created.ExpectJsonAsync(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/datasets/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal(id, dataset.Str("dataset_id"));
        Assert.Empty(dataset.Arr("versions"));
        await (await member.Api.PostJsonAsync("/api/v1/datasets", new { id })).ExpectProblemAsync(HttpStatusCode.Conflict);

        using var form = Corpus.Upload(("part-1.jsonl", Corpus.Documents(seed: 1, count: 150)), ("part-2.jsonl", Corpus.Documents(seed: 2, count: 150)));
        form.Add(new StringContent("300"), "tokenizer_vocab");
        form.Add(new StringContent("0.1"), "validation_fraction");
        using var uploaded = await member.Api.PostAsync($"/api/v1/datasets/{id}/versions", form, Ct);
        var version = await uploaded.ExpectJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal($"/api/v1/datasets/{id}/versions/1", uploaded.Headers.Location?.OriginalString);
        Assert.Equal(1, version.Long("version"));
        Assert.Equal(2, version.Arr("sources").Count);
        Assert.All(version.Arr("sources"), s => Assert.Matches("^[0-9a-f]{64}$", s.Str("sha256")));

        var ready = await WebApp.WaitForDatasetVersionAsync(member.Api, id, 1);
        Assert.Equal("ready", ready.Str("state"));
        Assert.True(ready.Long("train_tokens") > 0);
        Assert.True(ready.Long("validation_tokens") > 0);
        Assert.True(ready.Long("validation_tokens") < ready.Long("train_tokens"));
        Assert.Matches("^[0-9a-f]{64}$", ready.Str("content_hash"));
        Assert.NotNull(ready["tokenizer_sha256"]?.GetValue<string>());
        Assert.Null(ready["error"]?.GetValue<string>());

        var one = await member.Api.GetJsonAsync($"/api/v1/datasets/{id}/versions/1");
        Assert.Equal(ready.Str("content_hash"), one.Str("content_hash"));
        await (await member.Api.GetAsync($"/api/v1/datasets/{id}/versions/2", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "version");

        var summary = Assert.Single((await member.Api.GetJsonAsync("/api/v1/datasets")).Arr(), d => d.Str("id") == id);
        Assert.Equal(1, summary!.Long("versions"));
        Assert.Equal(1, summary.Long("latest_ready_version"));
        Assert.Equal("ready", summary.Str("latest_status"));
    }

    [Fact]
    public async Task Uploads_without_acceptable_files_are_refused_naming_files()
    {
        var id = Names.Unique("refused");
        await (await app.Admin.PostJsonAsync("/api/v1/datasets", new { id })).ExpectAsync(HttpStatusCode.Created);

        using (var badName = Http.Files((".hidden.jsonl", """{"text":"x"}""")))
            await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", badName, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "files");
        using (var badName = Http.Files(("bad name?.jsonl", """{"text":"x"}""")))
            await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", badName, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "files");
        using (var noFiles = new MultipartFormDataContent { { new StringContent("300"), "tokenizer_vocab" } })
            await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", noFiles, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "files");
        using (var wrongField = new MultipartFormDataContent { { new ByteArrayContent("{\"text\":\"x\"}"u8.ToArray()), "file", "a.jsonl" } })
            await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", wrongField, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "files");
        await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", JsonContent.Create(new { files = "a.jsonl" }), Ct))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "files");
        using (var badVocab = Corpus.Upload(("a.jsonl", Corpus.Documents(1, 3))))
        {
            badVocab.Add(new StringContent("many"), "tokenizer_vocab");
            await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", badVocab, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "tokenizer_vocab");
        }
        using (var badFraction = Corpus.Upload(("a.jsonl", Corpus.Documents(1, 3))))
        {
            // Refused by the dataset grain after the files were stored: they are removed again.
            badFraction.Add(new StringContent("0.99"), "validation_fraction");
            await (await app.Admin.PostAsync($"/api/v1/datasets/{id}/versions", badFraction, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "validation_fraction");
        }
        // Nothing was registered, and nothing was left in the artifact store.
        Assert.Empty((await app.Admin.GetJsonAsync($"/api/v1/datasets/{id}")).Arr("versions"));
        var uploads = Path.Combine(app.DataDirectory, "artifacts", "objects", "datasets", id); // the local store keeps objects/<key>
        Assert.True(!Directory.Exists(uploads) || Directory.GetFiles(uploads, "*", SearchOption.AllDirectories).Length == 0,
            $"files left behind: {string.Join(", ", Directory.Exists(uploads) ? Directory.GetFiles(uploads, "*", SearchOption.AllDirectories) : [])}");

        var unknown = Names.Unique("unknown");
        await (await app.Admin.GetAsync($"/api/v1/datasets/{unknown}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound);
        using (var form = Corpus.Upload(("a.jsonl", Corpus.Documents(1, 3))))
            await (await app.Admin.PostAsync($"/api/v1/datasets/{unknown}/versions", form, Ct)).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await app.Admin.PostJsonAsync("/api/v1/datasets", new { id = "Not Valid" })).ExpectProblemAsync(HttpStatusCode.BadRequest, "id");
    }

    [Fact]
    public async Task Creating_datasets_needs_the_member_role_somewhere()
    {
        var viewer = await app.NewUserAsync("ds-viewer");
        await app.NewProjectAsync("ds-view", (viewer, "viewer"));
        await (await viewer.Api.PostJsonAsync("/api/v1/datasets", new { id = Names.Unique("mine") })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await viewer.Api.PostJsonAsync("/api/v1/datasets/builtin", new { corpus = "brown", dataset_id = Names.Unique("b") }))
            .ExpectProblemAsync(HttpStatusCode.Forbidden);
        var shared = await app.SharedDatasetAsync();
        using (var form = Corpus.Upload(("a.jsonl", Corpus.Documents(1, 3))))
            await (await viewer.Api.PostAsync($"/api/v1/datasets/{shared}/versions", form, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        // Reading is open to every signed-in user: datasets are platform-wide.
        Assert.Equal(shared, (await viewer.Api.GetJsonAsync($"/api/v1/datasets/{shared}")).Str("dataset_id"));
    }

    [Fact]
    public async Task A_built_in_corpus_is_registered_from_the_servers_corpora()
    {
        var id = Names.Unique("brown");
        using var response = await app.Admin.PostJsonAsync("/api/v1/datasets/builtin", new { corpus = "brown", dataset_id = id, tokenizer_vocab = 300 });
        var version = await response.ExpectJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal($"/api/v1/datasets/{id}/versions/1", response.Headers.Location?.OriginalString);
        Assert.EndsWith("/brown.jsonl", Assert.Single(version.Arr("sources"))!.Str("artifact_key"));

        var ready = await WebApp.WaitForDatasetVersionAsync(app.Admin, id, 1);
        Assert.True(ready.Long("train_tokens") > 0);
        Assert.Equal("built-in corpus brown", (await app.Admin.GetJsonAsync($"/api/v1/datasets/{id}")).Str("description"));

        // Again: the next version of the same dataset.
        var second = await (await app.Admin.PostJsonAsync("/api/v1/datasets/builtin", new { corpus = "brown", dataset_id = id, tokenizer_vocab = 300 }))
            .ExpectJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal(2, second.Long("version"));
        await WebApp.WaitForDatasetVersionAsync(app.Admin, id, 2);

        await (await app.Admin.PostJsonAsync("/api/v1/datasets/builtin", new { corpus = "shakespeare", dataset_id = Names.Unique("s") }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "corpus");
        await (await app.Admin.PostJsonAsync("/api/v1/datasets/builtin", new { corpus = "brown/news", dataset_id = Names.Unique("s") })) // not on this server
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "corpus");
        await (await app.Admin.PostJsonAsync("/api/v1/datasets/builtin", new { corpus = "brown/../../etc", dataset_id = Names.Unique("s") }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "corpus");
        await (await app.Admin.PostJsonAsync("/api/v1/datasets/builtin", new { dataset_id = Names.Unique("s") }))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "corpus");
    }
}
