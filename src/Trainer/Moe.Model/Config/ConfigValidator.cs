namespace Moe.Model.Config;

/// <summary>Checks a configuration and reports every problem with the JSON name of its field.</summary>
public static class ConfigValidator
{
    // Upper bounds far above any model in the literature (DeepSeek-V3: 129,280 vocabulary, 7,168 wide, 61 layers, 256
    // experts, 128k context) that stop a typo or a hostile request from asking a worker for exabytes.
    public const int MaxVocabSize = 1 << 22, MaxDModel = 1 << 16, MaxLayers = 1024, MaxHeads = 1024, MaxSeqLen = 1 << 21,
        MaxHidden = 1 << 20, MaxExperts = 4096, MaxSharedExperts = 64, MaxMtpDepth = 16;

    public static IReadOnlyList<ConfigException> Validate(ModelConfig c)
    {
        var errors = new List<ConfigException>();
        void Check(bool ok, string field, string problem) { if (!ok) errors.Add(new ConfigException(field, problem)); }
        void Range(long value, long max, string field) =>
            Check(value is > 0 && value <= max, field, value <= 0 ? $"must be positive (got {value})" : $"must be at most {max} (got {value})");

        Range(c.VocabSize, MaxVocabSize, "vocab_size");
        Range(c.DModel, MaxDModel, "d_model");
        Range(c.NLayers, MaxLayers, "n_layers");
        Range(c.NHeads, MaxHeads, "n_heads");
        Range(c.MaxSeqLen, MaxSeqLen, "max_seq_len");
        Range(c.FfnHidden, MaxHidden, "ffn_hidden");
        Check(c.RopeTheta > 0, "rope_theta", $"must be positive (got {c.RopeTheta})");
        Check(c.NormEps > 0, "norm_eps", $"must be positive (got {c.NormEps})");
        Check(c.InitStd > 0, "init_std", $"must be positive (got {c.InitStd})");
        if (c.NHeads > 0 && c.DModel > 0)
        {
            Check(c.DModel % c.NHeads == 0, "n_heads", $"{c.NHeads} heads do not divide d_model {c.DModel}");
            Check(c.DModel % c.NHeads != 0 || c.HeadDim % 2 == 0, "n_heads", $"head size d_model/n_heads = {c.HeadDim} must be even for rotary embeddings");
        }
        if (c.NKvHeads is { } kv)
        {
            Check(kv > 0, "n_kv_heads", $"must be positive (got {kv})");
            Check(kv <= 0 || c.NHeads % kv == 0, "n_kv_heads", $"{kv} key/value heads do not divide n_heads {c.NHeads}");
        }
        if (c.SlidingWindow is { } w) Check(w > 0, "sliding_window", $"must be positive (got {w})");

        if (c.Moe is { } m) ValidateMoe(m, c, Check);
        if (c.Mtp is { } mtp)
        {
            Check(mtp.Depth >= 1, "mtp.depth", $"must be at least 1 (got {mtp.Depth}); omit mtp to disable it");
            Check(mtp.Depth <= MaxMtpDepth, "mtp.depth", $"must be at most {MaxMtpDepth} (got {mtp.Depth})");
            Check(mtp.Weight >= 0, "mtp.weight", $"must not be negative (got {mtp.Weight})");
            Check(mtp.Depth < c.MaxSeqLen, "mtp.depth", $"must be below max_seq_len {c.MaxSeqLen}");
        }
        return errors;
    }

    static void ValidateMoe(MoeConfig m, ModelConfig c, Action<bool, string, string> check)
    {
        check(m.NumExperts >= 1, "moe.num_experts", $"must be at least 1 (got {m.NumExperts})");
        check(m.NumExperts <= MaxExperts, "moe.num_experts", $"must be at most {MaxExperts} (got {m.NumExperts})");
        check(m.TopK >= 1, "moe.top_k", $"must be at least 1 (got {m.TopK})");
        check(m.TopK <= m.NumExperts, "moe.top_k", $"{m.TopK} exceeds moe.num_experts ({m.NumExperts})");
        check(m.ExpertHidden is > 0 and <= MaxHidden, "moe.expert_hidden", $"must be in [1, {MaxHidden}] (got {m.ExpertHidden})");
        check(m.NumSharedExperts is >= 0 and <= MaxSharedExperts, "moe.num_shared_experts", $"must be in [0, {MaxSharedExperts}] (got {m.NumSharedExperts})");
        if (m.SharedExpertHidden is { } sh) check(sh is > 0 and <= MaxHidden, "moe.shared_expert_hidden", $"must be in [1, {MaxHidden}] (got {sh})");
        check(m.Every >= 1, "moe.every", $"must be at least 1 (got {m.Every})");
        check(m.FirstDenseBlocks >= 0, "moe.first_dense_blocks", $"must not be negative (got {m.FirstDenseBlocks})");
        // Counted only for a layer count that passed its bound: n_layers = 2^31 would loop for seconds before being refused.
        check(m.Every < 1 || c.NLayers > MaxLayers || Enumerable.Range(0, c.NLayers).Any(c.IsMoeBlock), "moe.every",
            $"with first_dense_blocks={m.FirstDenseBlocks} and every={m.Every} none of the {c.NLayers} blocks is MoE");

        var cap = m.Capacity;
        check(cap.TrainFactor > 0, "moe.capacity.train_factor", $"must be positive (got {cap.TrainFactor})");
        check(cap.EvalFactor > 0, "moe.capacity.eval_factor", $"must be positive (got {cap.EvalFactor})");

        var b = m.Balance;
        check(b.SwitchWeight >= 0, "moe.balance.switch_weight", $"must not be negative (got {b.SwitchWeight})");
        check(b.ImportanceWeight >= 0, "moe.balance.importance_weight", $"must not be negative (got {b.ImportanceWeight})");
        check(b.ZLossWeight >= 0, "moe.balance.z_loss_weight", $"must not be negative (got {b.ZLossWeight})");
        check(b.GroupWeight >= 0, "moe.balance.group_weight", $"must not be negative (got {b.GroupWeight})");
        check(b.AuxFreeGamma >= 0, "moe.balance.aux_free_gamma", $"must not be negative (got {b.AuxFreeGamma})");
        check(b.Groups >= 1, "moe.balance.groups", $"must be at least 1 (got {b.Groups})");
        check(b.Groups < 1 || m.NumExperts % b.Groups == 0, "moe.balance.groups", $"{b.Groups} groups do not divide moe.num_experts ({m.NumExperts})");
        check(!(b.AuxFree && m.Router.Gating == Gating.Soft), "moe.balance.aux_free", "has no effect with soft gating, which uses every expert");
    }

    public static void ThrowIfInvalid(ModelConfig c)
    {
        var errors = Validate(c);
        if (errors.Count == 1) throw errors[0];
        if (errors.Count > 1)
            throw new ConfigException(errors[0].Field, string.Join("; ", errors.Select(e => e.Message)).Substring(errors[0].Field.Length + 2));
    }
}
