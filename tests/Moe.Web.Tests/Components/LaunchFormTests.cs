using System.Text.Json;
using System.Text.Json.Nodes;
using Bunit;
using Moe.Model.Config;
using Moe.Model.Training;
using Moe.Platform;
using Moe.Web.Apis;
using Moe.Web.Components.Launch;
using Moe.Web.Portal;
using Moe.Web.Runs;
using MudBlazor.Services;

namespace Moe.Web.Tests.Components;

/// <summary>
/// The launch form's logic without a server: inputs loaded from the real presets, a request of the preset plus only the
/// changed inputs, and refusals (the trainer's own field names) placed at the input they name.
/// </summary>
public sealed class LaunchFormTests
{
    static readonly RunPresets Presets = new(); // Presets/*.json and configs/*.json beside the tests, as the app reads them

    static LaunchForm TinyCpu()
    {
        var form = new LaunchForm { ExperimentId = "exp-1" };
        form.LoadPreset(Presets, "tiny-cpu");
        return form;
    }

    [Fact]
    public void An_untouched_form_sends_the_preset_alone()
    {
        var form = TinyCpu();

        Assert.Equal(4, form["model.moe.num_experts"].Integer);
        Assert.Equal(2, form["model.moe.top_k"].Integer);
        Assert.Equal(0.01, form["model.moe.balance.switch_weight"].Number);
        Assert.Equal("top_k", form["model.moe.router.gating"].Text);
        Assert.Equal("brown", form["data.datasets[0].path"].Text);
        Assert.Null(form["data.datasets[0].path"].Version);
        Assert.Equal(120, form["training.steps"].Integer);
        Assert.Equal(1, form["resources.cpu_slots"].Integer);
        // Left out by the preset: the trainer's default is shown, and is not sent.
        Assert.Equal(new MoeConfig().Balance.ImportanceWeight, form["model.moe.balance.importance_weight"].Number);
        Assert.Equal(new MoeConfig().Balance.AuxFreeGamma, form["model.moe.balance.aux_free_gamma"].Number);
        Assert.Null(form["model.mtp.depth"].Integer);

        var request = form.BuildRequest();
        Assert.Equal(("exp-1", "tiny-cpu", null), (request.ExperimentId, request.Preset, request.Name));
        Assert.Empty(request.Overrides!);
        Assert.Null(request.Config);
        Assert.Null(request.Resources); // the preset's own
    }

    [Fact]
    public void Overrides_hold_only_the_changed_inputs()
    {
        var form = TinyCpu();
        form["model.moe.top_k"].Integer = 1;
        form["training.lr"].Number = 0.001;
        form["model.moe.router.gating"].Text = "noisy_top_k";
        form["model.moe.balance.aux_free"].Flag = true;
        form["data.datasets[0].path"].Text = "wiki";
        form["data.datasets[0].path"].Version = 3;
        form["training.steps"].Integer = 121;
        form["training.steps"].Integer = 120; // changed back: not sent

        var overrides = form.BuildRequest().Overrides!;

        Assert.Equal(["data.datasets[0].path", "model.moe.balance.aux_free", "model.moe.router.gating", "model.moe.top_k", "training.lr"],
            overrides.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1, overrides["model.moe.top_k"]!.GetValue<long>());
        Assert.Equal(0.001, overrides["training.lr"]!.GetValue<double>());
        Assert.Equal("noisy_top_k", overrides["model.moe.router.gating"]!.GetValue<string>());
        Assert.True(overrides["model.moe.balance.aux_free"]!.GetValue<bool>());
        Assert.Equal("dataset:wiki@3", overrides["data.datasets[0].path"]!.GetValue<string>());

        // The API composes exactly that: the preset with these five values.
        var composed = form.Compose(Presets);
        Assert.Equal(1, composed["model"]!["moe"]!["top_k"]!.GetValue<long>());
        Assert.Equal(4, composed["model"]!["moe"]!["num_experts"]!.GetValue<int>());
        Assert.Equal("dataset:wiki@3", composed["data"]!["datasets"]![0]!["path"]!.GetValue<string>());
    }

    [Fact]
    public void Resources_are_sent_only_when_changed_and_optional_blocks_are_switched_off_by_emptying_them()
    {
        var form = TinyCpu();
        form["resources.gpus"].Integer = 1;
        form["resources.gpu_memory_gb"].Number = 8;
        Assert.Equal(new ResourcesRequest(1, 8, 1), form.BuildRequest().Resources);
        Assert.Empty(form.Overrides()); // resources are not config

        form["model.mtp.depth"].Integer = 2; // the preset has no MTP: the block is made
        Assert.Equal(2, form.Overrides()["model.mtp.depth"]!.GetValue<long>());

        var v3 = new LaunchForm { ModelPreset = "deepseek-v3" };
        v3.LoadPreset(Presets, "tiny-cpu");
        Assert.Equal(16, v3["model.moe.num_experts"].Integer); // the model preset's, not tiny-cpu's
        Assert.Equal(1, v3["model.mtp.depth"].Integer);
        Assert.True(v3["model.moe.balance.aux_free"].Flag);
        Assert.Equal(new JsonObject { ["model"] = "deepseek-v3" }.ToJsonString(), v3.BuildRequest().Config!.ToJsonString());
        v3["model.mtp.depth"].Integer = 0;
        var overrides = v3.Overrides();
        Assert.Equal(["model.mtp"], overrides.Keys);
        Assert.Null(overrides["model.mtp"]);
        Assert.Null(v3.Compose(Presets)["model"]!["mtp"]);
    }

    [Fact]
    public void A_run_is_the_starting_point_with_its_config_and_resources()
    {
        var config = Presets.Compose("tiny-cpu", null, new Dictionary<string, JsonNode?>
        {
            ["data.datasets[0].path"] = "dataset:brown@2", ["tokenizer"] = "dataset:brown@2", ["model.moe.top_k"] = 1,
        });
        var run = new RunView("run-1", "exp-9", "default", "first try", "failed", 3, new RunResources(0, 0, 2), 2, 1, DateTime.UtcNow, null, null,
            null, null, 120, null, config);
        var form = new LaunchForm();
        form.LoadRun(Presets, run);

        Assert.Equal(("exp-9", "first try (copy)", 3), (form.ExperimentId, form.Name, form.Priority));
        Assert.Equal(1, form["model.moe.top_k"].Integer);
        Assert.Equal(("brown", 2), (form["data.datasets[0].path"].Text, form["data.datasets[0].path"].Version));
        var unchanged = form.BuildRequest();
        Assert.Null(unchanged.Preset);
        Assert.Equal(config.ToJsonString(), unchanged.Config!.ToJsonString());
        Assert.Empty(unchanged.Overrides!);
        Assert.Equal(new ResourcesRequest(0, 0, 2), unchanged.Resources); // without a preset the run's resources must be sent

        form["data.datasets[0].path"].Version = null; // the newest version; the pinned tokenizer goes with the old one
        var overrides = form.Overrides();
        Assert.Equal("dataset:brown", overrides["data.datasets[0].path"]!.GetValue<string>());
        Assert.True(overrides.ContainsKey("tokenizer") && overrides["tokenizer"] is null);
    }

    [Theory]
    [InlineData("config.model.moe.top_k", "model.moe.top_k")] // admission: the trainer's path under config.
    [InlineData("moe.top_k", "model.moe.top_k")] // the model's own validation
    [InlineData("overrides.training.lr", "training.lr")] // a malformed override
    [InlineData("config.data.mixture[0].until", "data.mixture")] // inside an input
    [InlineData("config.data.datasets[0].path", "data.datasets[0].path")]
    [InlineData("config.data.datasets", "data.datasets[0].path")] // the only input under it
    [InlineData("config.model.mtp", "model.mtp.depth")]
    [InlineData("name", "name")]
    [InlineData("experiment_id", "experiment_id")]
    public void A_refusal_shows_at_the_input_it_names(string field, string input)
    {
        var form = TinyCpu();
        Assert.Equal([input], form.ShowError(field, "is wrong"));
        Assert.Equal("is wrong", form.ErrorOf(input));
        Assert.Empty(form.GeneralErrors);
        Assert.Equal(input.Contains('.') ? 1 : 0, form.Fields.Count(f => f.Error is not null));

        form.ClearErrors();
        Assert.Null(form.ErrorOf(input));
    }

    [Fact]
    public void Resource_refusals_show_at_the_resource_they_name_and_unknown_fields_at_the_top()
    {
        var form = TinyCpu();
        Assert.Equal(["resources.gpus"], form.ShowError("resources", "gpus must be 0 or more, got -1"));
        Assert.Equal(["resources.gpu_memory_gb"], form.ShowError("resources", "gpu_memory_bytes must be 0 or more, got -5"));
        Assert.Equal(["resources.gpus", "resources.cpu_slots"], form.ShowError("resources", "asks for no GPUs and no CPU slots"));
        Assert.Empty(form.GeneralErrors);

        Assert.Empty(form.ShowError("config.tokenizer", "must name the tokenizer.json"));
        Assert.Empty(form.ShowError("config.model.moe", "is odd")); // many inputs under it: none is singled out
        Assert.Empty(form.ShowError("training.lr", "is too high", atInputs: false)); // the JSON tab: no inputs
        Assert.Equal(["config.tokenizer: must name the tokenizer.json", "config.model.moe: is odd", "training.lr: is too high"], form.GeneralErrors);
        Assert.Null(form["training.lr"].Error);
    }

    [Fact]
    public void The_trainers_own_validation_errors_land_on_inputs()
    {
        var form = TinyCpu();
        form["model.moe.top_k"].Integer = 9; // more than the 4 experts
        form["training.seq_len"].Integer = 4096; // longer than max_seq_len
        form["model.moe.capacity.train_factor"].Number = -1;
        form["model.n_heads"].Integer = 5; // does not divide d_model 64
        var config = form.Compose(Presets);
        config["tokenizer"] = "tokenizer.json"; // admission fills it in from the dataset
        var errors = RunConfigLoader.Validate(RunConfigLoader.Deserialize(config.ToJsonString()));

        Assert.Equal(["model.n_heads", "model.moe.top_k", "model.moe.capacity.train_factor", "training.seq_len"], errors.Select(e => e.Field).Distinct());
        foreach (var error in errors)
            Assert.Equal([error.Field], form.ShowError("config." + error.Field, error.Problem)); // as admission names them
        Assert.Empty(form.GeneralErrors);
    }

    [Fact]
    public void Every_input_is_a_field_of_the_trainers_run_config()
    {
        var schema = JsonSerializer.SerializeToNode(
            new RunConfig { Model = new ModelConfig { Moe = new MoeConfig(), Mtp = new MtpConfig(), NKvHeads = 1 }, Data = new DataConfig { Mixture = [] } },
            ConfigLoader.Json);
        foreach (var definition in LaunchForm.Definitions.Where(d => !d.IsResource && d.Kind != LaunchFieldKind.Dataset))
            Assert.True(LaunchForm.Read(schema, definition.Path) is not null, $"{definition.Path} is not a run config field");
        Assert.Equal(["top_k", "noisy_top_k", "soft"], LaunchForm.Definitions.Single(d => d.Path == "model.moe.router.gating").Choices);
    }

    [Fact]
    public void Raw_json_is_sent_whole_with_the_forms_resources()
    {
        var form = TinyCpu();
        form["resources.cpu_slots"].Integer = 2;
        var request = form.BuildRawRequest("""{"name": "raw", "model": "default"}""");
        Assert.Null(request.Preset);
        Assert.Null(request.Overrides);
        Assert.Equal("raw", request.Config!["name"]!.GetValue<string>());
        Assert.Equal(new ResourcesRequest(0, 0, 2), request.Resources);
        Assert.Equal("config", Assert.Throws<PlatformException>(() => form.BuildRawRequest("{not json")).Field);
        Assert.Equal("config", Assert.Throws<PlatformException>(() => form.BuildRawRequest("[1]")).Field);
        form["training.steps"].Integer = null;
        Assert.Equal("training.steps", Assert.Throws<PlatformException>(() => form.BuildRequest()).Field); // required inputs
    }
}

/// <summary>One input rendered without a browser: its test id, the changed marker and the refusal shown under it.</summary>
public sealed class LaunchFieldInputTests : PortalComponentTest
{
    [Fact]
    public void A_refusal_is_shown_under_its_input()
    {
        var form = new LaunchForm();
        form.LoadPreset(new RunPresets(), "tiny-cpu");
        form.ShowError("config.model.moe.top_k", "5 exceeds moe.num_experts (4)");
        form["model.moe.top_k"].Integer = 5;

        var input = Context.Render<LaunchFieldInput>(p => p.Add(c => c.Field, form["model.moe.top_k"]));

        Assert.NotNull(input.Find("input[data-testid='field-model.moe.top_k']"));
        Assert.Equal("true", input.Find("[data-field='model.moe.top_k']").GetAttribute("data-changed"));
        Assert.Contains("5 exceeds moe.num_experts (4)", input.Markup);
        Assert.Contains("mud-input-error", input.Markup);

        var clean = Context.Render<LaunchFieldInput>(p => p.Add(c => c.Field, form["model.moe.num_experts"]));
        Assert.DoesNotContain("mud-input-error", clean.Markup);
        Assert.Equal("false", clean.Find("[data-field='model.moe.num_experts']").GetAttribute("data-changed"));
    }

    [Fact]
    public void Typing_a_value_clears_its_error_and_reports_the_change()
    {
        var form = new LaunchForm();
        form.LoadPreset(new RunPresets(), "tiny-cpu");
        form.ShowError("moe.top_k", "is wrong");
        LaunchField? changed = null;
        var input = Context.Render<LaunchFieldInput>(p => p.Add(c => c.Field, form["model.moe.top_k"]).Add(c => c.Changed, f => changed = f));

        input.Find("input[data-testid='field-model.moe.top_k']").Change("1");

        Assert.Same(form["model.moe.top_k"], changed);
        Assert.Equal(1, form["model.moe.top_k"].Integer);
        Assert.Null(form["model.moe.top_k"].Error);
        Assert.Equal(1, form.Overrides()["model.moe.top_k"]!.GetValue<long>());
    }
}
