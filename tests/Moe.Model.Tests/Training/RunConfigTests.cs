using Moe.Model.Training;

namespace Moe.Model.Tests.Training;

public sealed class RunConfigTests : IDisposable
{
    readonly TinyRun tiny = new();

    public void Dispose() => tiny.Dispose();

    [Fact]
    public void RepositoryRunConfigsLoadWithTheirModelFiles()
    {
        var config = RunConfigLoader.LoadFile(Path.Combine(RepoPaths.Root, "configs", "train", "brown.json"), ["model.moe.top_k=1"]);
        Assert.Equal("default", config.Model.Name);
        Assert.Equal(1, config.Model.Moe!.TopK);
        Assert.True(Path.IsPathRooted(config.Tokenizer));
        Assert.EndsWith(Path.Combine(".data", "datasets", "brown-4k"), config.Data.Datasets[0].Path);
        foreach (var file in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "train"), "*.json"))
            RunConfigLoader.LoadFile(file); // throws, naming the field, if invalid
    }

    [Theory]
    [InlineData("training.seq_len=64", "training.seq_len", "longer than the model's context")]
    [InlineData("training.lr=0", "training.lr", "must be positive")]
    [InlineData("training.min_lr=1", "training.min_lr", "[0, training.lr]")]
    [InlineData("training.device=tpu", "training.device", "tpu")]
    [InlineData("model.moe.top_k=9", "model.moe.top_k", "exceeds")]
    [InlineData("training.dtype=fp8", "training.dtype", "float32, bfloat16")]
    [InlineData("training.stepz=3", "training.stepz", "")]
    [InlineData("""data.mixture=[{"until":1.0,"weights":{"main":1,"nope":1}}]""", "data.mixture[0].weights", "unknown dataset 'nope'")]
    [InlineData("""data.mixture=[{"until":0.5,"weights":{"main":1}}]""", "data.mixture[0].until", "must end at 1")]
    [InlineData("""data.mixture=[{"until":0.6,"weights":{"main":1}},{"until":0.4,"weights":{"main":1}}]""", "data.mixture[1].until", "must increase")]
    [InlineData("data.validation=nope", "data.validation", "unknown dataset")]
    [InlineData("training=null", "training", "must not be null")]
    [InlineData("model=null", "model", "must not be null")]
    [InlineData("data.datasets=[null]", "data.datasets[0]", "must not be null")]
    [InlineData("""data.mixture=[{"until":1.0,"weights":{"main":null}}]""", "data.mixture[0].weights.main", "could not be converted")]
    [InlineData("training.lr=1e400", "training.lr", "finite")]
    [InlineData("model.moe.num_experts=100000", "model.moe.num_experts", "at most 4096")]
    [InlineData("training.steps=2000000000", "training.steps", "[1, 100000000]")]
    [InlineData("model.d_model=1000000", "model.d_model", "at most 65536")]
    [InlineData("model.n_layers=2147483647", "model.n_layers", "at most 1024")] // refused at once, not after counting its MoE blocks
    [InlineData("tokenizer=tok\u0000enizer.json", "tokenizer", "NUL character")]
    [InlineData("""data.datasets=[{"name":"main","path":"da\u0000ta"}]""", "data.datasets[0].path", "NUL character")]
    public void BadSettingsNameTheirField(string assignment, string field, string fragment)
    {
        var e = Assert.Throws<ConfigException>(() => tiny.Config(assignment));
        Assert.Equal(field, e.Field);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void MissingFilesAreReportedAtOpenNamingTheField()
    {
        var e = Assert.Throws<ConfigException>(() => TinyRun.Train(tiny.Config("""data.datasets=[{"name":"main","path":"data/none"},{"name":"extra","path":"data/extra"}]"""), tiny.RunDir("x")));
        Assert.Equal("data.datasets[0].path", e.Field);
        Assert.Contains("not a prepared dataset", e.Message);
        e = Assert.Throws<ConfigException>(() => TinyRun.Train(tiny.Config("tokenizer=none.json"), tiny.RunDir("y")));
        Assert.Equal("tokenizer", e.Field);
    }

    [Fact]
    public void ASerializedConfigReadsBackEqual()
    {
        var config = tiny.Config("training.grad_accum=3");
        var again = RunConfigLoader.Deserialize(RunConfigLoader.Serialize(config));
        Assert.Equal(RunConfigLoader.Serialize(config), RunConfigLoader.Serialize(again));
        Assert.Equal(3 * 4 * 16, again.Training.TokensPerStep);
    }

    [Fact]
    public void AKeyGivenTwiceOrAnOverridePathTooDeepOrLongIsRefused()
    {
        var twice = Assert.Throws<ConfigException>(() => Moe.Model.Config.ConfigLoader.ParseObject("""{"name": "a", "name": "b"}""", "run.json"));
        Assert.Equal("run.json", twice.Field);
        Assert.Contains("name", twice.Message);
        // Config text read straight into a RunConfig (a run's stored spec) refuses it too.
        Assert.Throws<System.Text.Json.JsonException>(() => RunConfigLoader.Deserialize("""{"name": "a", "name": "b"}"""));

        var deep = Assert.Throws<ConfigException>(() => tiny.Config(string.Join('.', Enumerable.Repeat("a", 20)) + "=1"));
        Assert.Contains("more than 16 parts", deep.Message);
        var longPath = Assert.Throws<ConfigException>(() => tiny.Config(new string('a', 300) + "=1"));
        Assert.Contains("longer than 256", longPath.Message);
    }
}
